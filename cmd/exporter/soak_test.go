package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chtest"
)

// soakDuration is how long TestSoak cycles ClickHouse through its faults
// after the warm-up cycle: one more cycle (about 50 s) in CI, MLMON_SOAK_DURATION (a
// Go duration, e.g. 30m) for the long run the README describes.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("MLMON_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("MLMON_SOAK_DURATION: %v", err)
		}
		return d
	}
	return 0 // one cycle
}

const (
	soakInterval = 5 * time.Second
	soakTimeout  = 2 * time.Second // the scrape timeout header
	// soakBlock bounds how long ClickHouse takes to stop a killed query of
	// the soak: one block of the sleeping view (1.3 s), slowed down by the
	// slow phase, plus the kill's own round trips.
	soakBlock = 3 * time.Second
)

// soakSample is what one scrape of the soak measured.
type soakSample struct {
	phase      string
	cycle      int // 0 and 1 are the warm-up
	start      time.Time
	took       time.Duration
	collect    float64 // the slowest model's mlmon_scrape_duration_seconds
	rss        int64
	goroutines float64
	heap       float64 // go_memstats_heap_inuse_bytes
	conns      int
}

// The soak: scrapes every 5 s while ClickHouse is restarted, frozen and made
// slow in turn, with a second model whose every query outlasts its
// deadline (a view that sleeps 1.3 s a block) so that kills and skipped
// collections happen on every scrape. Peak RSS, goroutines and the
// exporter's open ClickHouse connections stay within 10% of the warm-up's;
// no scrape answers past its timeout; no query of a scrape runs in
// ClickHouse past one block after its deadline (or after ClickHouse could
// hear the KILL again, when it was frozen).
func TestSoak(t *testing.T) {
	dir := t.TempDir()
	srv, err := chtest.Start(filepath.Join(dir, "ch"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ctx := context.Background()
	if err := srv.Exec(ctx, testSchema,
		"INSERT INTO p SELECT now() - 1 - number % 3000, toString(number), number % 10, number % 13 FROM numbers(20000)",
		"CREATE VIEW soak_slow AS SELECT now() - 60 AS ts, toString(number) AS request_id, "+
			"toFloat64(number % 10) AS prediction, toFloat64(number) AS x FROM system.numbers WHERE sleepEachRow(0.00002) = 0",
	); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, dir, "mlmon.yml", fmt.Sprintf("clickhouse: {addr: [%q], query_timeout: 10s, dial_timeout: 1s}\nmodels:\n", srv.Addr())+
		fmt.Sprintf(faultModel, "steady", "p")+fmt.Sprintf(faultModel, "slow", "soak_slow"))
	exp := runExporter(t, exporterOpts{config: path})
	pid := exp.cmd.Process.Pid

	var (
		mu      sync.Mutex
		phase   = "warm-up"
		cycle   = 0
		heardAt time.Time // since when ClickHouse can hear a KILL (start, thaw, restart)
	)
	setPhase := func(p string, hearing bool) {
		mu.Lock()
		defer mu.Unlock()
		phase = fmt.Sprintf("%s %d", p, cycle)
		if hearing {
			heardAt = time.Now()
		}
	}
	heardAt = time.Now()

	// The scraper: every soakInterval, records each scrape's answer time by
	// its number (the s<N> of the query_ids).
	var samples []soakSample
	answered := map[int]time.Time{}
	stop := make(chan struct{})
	scraperDone := make(chan struct{})
	go func() {
		defer close(scraperDone)
		for n := 1; ; n++ {
			begin := time.Now()
			next := begin.Add(soakInterval)
			code, body, took := exp.scrape(strconv.FormatFloat(soakTimeout.Seconds(), 'f', -1, 64))
			at := time.Now()
			if code != 200 {
				t.Errorf("scrape %d answered %d\n%s", n, code, body)
			}
			got := parseMetrics(t, body)
			conns, err := chConnections(pid, srv.TCPPort)
			if err != nil {
				t.Error(err)
			}
			collect := 0.0
			for _, m := range []string{"steady", "slow"} {
				collect = max(collect, got[`mlmon_scrape_duration_seconds{model="`+m+`"}`])
			}
			mu.Lock()
			answered[n] = at
			samples = append(samples, soakSample{phase: phase, cycle: cycle, start: begin, took: took, collect: collect, rss: exp.status("VmRSS"), goroutines: got["go_goroutines{}"], heap: got["go_memstats_heap_inuse_bytes{}"], conns: conns})
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(time.Until(next)):
			}
		}
	}()

	// The watcher: whenever ClickHouse answers, no query of a scrape may
	// run later than soakBlock after that scrape's answer (its deadline)
	// or after ClickHouse could hear the KILL again.
	var lateQueries []string
	maxLate := time.Duration(0)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			ids, err := mlmonQueries(srv)
			if err != nil {
				continue // frozen or restarting: nothing to see
			}
			now := time.Now()
			mu.Lock()
			for _, id := range ids {
				m := scrapeTag.FindStringSubmatch(id)
				if m == nil {
					continue // a background reference, bounded by query_timeout
				}
				n, _ := strconv.Atoi(m[1][1:])
				at, ok := answered[n]
				if !ok {
					continue // its scrape has not answered yet
				}
				since := now.Sub(later(at, heardAt))
				if since > soakBlock {
					lateQueries = append(lateQueries, fmt.Sprintf("%s (%s, %s after its scrape answered)", id, phase, since.Round(100*time.Millisecond)))
				}
				maxLate = max(maxLate, since)
			}
			mu.Unlock()
		}
	}()

	sleep := func(name string, d time.Duration, hearing bool) {
		setPhase(name, hearing)
		time.Sleep(d)
	}
	sleep("warm-up", 10*time.Second, false)
	// Cycle 1 is part of the warm-up: every fault once, so that the pools,
	// the buffers and the Go heap have met each before the baseline is set.
	start := time.Now()
	for c := 1; c <= 2 || time.Since(start) < soakDuration(t); c++ {
		mu.Lock()
		cycle = c
		mu.Unlock()
		setPhase("restart", false)
		if err := srv.Restart(); err != nil {
			t.Fatal(err)
		}
		sleep("after restart", 8*time.Second, true)

		setPhase("frozen", false)
		if err := srv.Freeze(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		if err := srv.Thaw(); err != nil {
			t.Fatal(err)
		}
		sleep("after freeze", 8*time.Second, true)

		// Slow: stopped 200 ms of every 300 ms, three times slower.
		setPhase("slow", false)
		slowEnd := time.Now().Add(10 * time.Second)
		for time.Now().Before(slowEnd) {
			if err := srv.Freeze(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			if err := srv.Thaw(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		sleep("after slow", 10*time.Second, true)
	}
	close(stop)
	<-scraperDone
	<-watchDone

	mu.Lock()
	defer mu.Unlock()
	for _, q := range lateQueries {
		t.Errorf("query past its scrape: %s", q)
	}
	var warm, rest []soakSample
	logs := exp.logLines()
	for _, s := range samples {
		if s.took > soakTimeout {
			// What the exporter did meanwhile: its collection's own
			// duration and log tell a slow exporter from a starved one.
			var during []string
			for _, l := range logs {
				if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(l["time"])); err == nil && !at.Before(s.start) && at.Before(s.start.Add(s.took+time.Second)) {
					during = append(during, fmt.Sprint(l))
				}
			}
			t.Errorf("%s: a scrape answered after %s, past its %s timeout (slowest model collected in %.3fs); the exporter's log meanwhile:\n%s",
				s.phase, s.took, soakTimeout, s.collect, strings.Join(during, "\n"))
		}
		if s.cycle <= 1 {
			warm = append(warm, s)
		} else {
			rest = append(rest, s)
		}
	}
	if len(warm) < 8 || len(rest) < 8 {
		t.Fatalf("%d warm-up and %d later samples: too few to compare", len(warm), len(rest))
	}
	peak := func(ss []soakSample, f func(soakSample) float64) float64 {
		var m float64
		for _, s := range ss {
			m = max(m, f(s))
		}
		return m
	}
	median := func(ss []soakSample, f func(soakSample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	rss := func(s soakSample) float64 { return float64(s.rss) }
	gor := func(s soakSample) float64 { return s.goroutines }
	conns := func(s soakSample) float64 { return float64(s.conns) }
	// Every cycle after the warm-up against the warm-up (which went
	// through the same faults).
	for _, c := range []struct {
		what         string
		warm, latest float64
		slack        float64 // absolute: a count of 20 moves in steps of 1
	}{
		{"peak RSS (bytes)", peak(warm, rss), peak(rest, rss), 0},
		{"goroutines (median)", median(warm, gor), median(rest, gor), 2},
		{"open ClickHouse connections (median)", median(warm, conns), median(rest, conns), 1},
	} {
		t.Logf("%s: warm-up %.0f, after the faults %.0f", c.what, c.warm, c.latest)
		if c.latest > c.warm*1.1+c.slack {
			t.Errorf("%s grew from %.0f in the warm-up to %.0f: more than 10%%", c.what, c.warm, c.latest)
		}
	}
	// Never more than the two pools hold: max_parallel_queries (4) for
	// queries and 2 for kills, even while ClickHouse is frozen.
	if p := peak(samples, conns); p > 4+2 {
		t.Errorf("%.0f connections to ClickHouse at once; the pools hold at most 6", p)
	}
	t.Logf("%d scrapes; slowest answer %s; a scrape's query seen at most %s after its scrape answered (or ClickHouse could hear again)",
		len(samples), slices.MaxFunc(samples, func(a, b soakSample) int { return int(a.took - b.took) }).took.Round(time.Millisecond), maxLate.Round(100*time.Millisecond))
	for _, s := range samples {
		t.Logf("%-16s took %5s (collected in %.3fs) rss %5.1f MiB heap in use %5.1f MiB goroutines %3.0f conns %d", s.phase, s.took.Round(time.Millisecond), s.collect, mib(s.rss), s.heap/(1<<20), s.goroutines, s.conns)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// mlmonQueries lists the exporter's queries ClickHouse runs, or fails
// within a second when ClickHouse does not answer.
func mlmonQueries(srv *chtest.Server) ([]string, error) {
	conn := srv.Conn()
	if conn == nil {
		return nil, errors.New("not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	type result struct {
		ids []string
		err error
	}
	done := make(chan result, 1)
	go func() {
		rows, err := conn.Query(ctx, "SELECT query_id FROM system.processes WHERE query_id LIKE 'mlmon-%'")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				done <- result{err: err}
				return
			}
			ids = append(ids, id)
		}
		done <- result{ids: ids, err: rows.Err()}
	}()
	select {
	case r := <-done:
		return r.ids, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// chConnections counts the TCP connections process pid holds to port
// (ClickHouse's native port), from its file descriptors and the kernel's
// socket tables, whatever state ClickHouse is in.
func chConnections(pid, port int) (int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	n := 0
	for _, table := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			// rem_address is HEXIP:HEXPORT; st 01 is ESTABLISHED.
			_, remPort, _ := strings.Cut(f[2], ":")
			p, err := strconv.ParseInt(remPort, 16, 32)
			if err == nil && int(p) == port && f[3] == "01" {
				n++
			}
		}
	}
	return n, nil
}
