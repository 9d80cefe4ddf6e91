package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadDuration is how long the steady load runs: a minute, as CI runs it;
// MLMON_LOAD_DURATION (a Go duration) shortens it for local iterations.
func loadDuration(t *testing.T) time.Duration {
	if v := os.Getenv("MLMON_LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("MLMON_LOAD_DURATION: %v", err)
		}
		return d
	}
	return time.Minute
}

// Load: 32 concurrent scrapes cost ClickHouse what one scrape costs (they
// join one computation), a scrape every second for a minute is answered
// every time, and afterwards the exporter's goroutines and memory are back
// where they were.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	features := []string{"f0", "f1", "f2", "f3", "f4", "f5"}
	var cols, vals, feats []string
	for i, f := range features {
		cols = append(cols, f+" Float64")
		vals = append(vals, fmt.Sprintf("cityHash64(number, %d) %% 1000 / 10", i))
		feats = append(feats, fmt.Sprintf("{name: %s, type: numeric}", f))
	}
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS load_preds",
		"DROP TABLE IF EXISTS load_labels",
		"CREATE TABLE load_preds (ts DateTime, request_id String, prediction String, score Float64, cat String, "+strings.Join(cols, ", ")+
			") ENGINE = MergeTree ORDER BY ts",
		"CREATE TABLE load_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
		// Two hours: the current window and the rolling reference.
		"INSERT INTO load_preds SELECT now() - 10 - number % 7000, toString(number), toString(number % 2), (number % 1000) / 1000, "+
			"concat('c', toString(number % 30)), "+strings.Join(vals, ", ")+" FROM numbers(50000)",
		"INSERT INTO load_labels SELECT toString(number), toString(cityHash64(number) % 2), now() - 5 FROM numbers(50000)",
	); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`clickhouse: {addr: [%q]}
models:
`, server.Addr())
	for _, name := range []string{"a", "b"} {
		cfg += fmt.Sprintf(`  - name: %s
    task: binary_classification
    positive_class: "1"
    predictions: {table: load_preds, timestamp: ts, id: request_id, prediction: prediction, score: score}
    ground_truth: {table: load_labels, id: request_id, label: label, timestamp: ts}
    features: [%s, {name: cat, type: categorical}]
    reference: {offset: 1h}
`, name, strings.Join(feats, ", "))
	}
	exp := runExporter(t, exporterOpts{config: writeFile(t, t.TempDir(), "mlmon.yml", cfg)})
	// Keep-alive connections, as Prometheus uses; closed before the final
	// measurement so that idle connections do not count as leaked
	// goroutines.
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	exp.opts.client = &http.Client{Transport: transport, Timeout: 30 * time.Second}

	queries := func(got map[string]float64) float64 {
		return got[`mlmon_clickhouse_queries_total{model="a"}`] + got[`mlmon_clickhouse_queries_total{model="b"}`]
	}
	serverQueries := func() float64 {
		var n uint64
		if err := server.Conn().QueryRow(ctx, "SELECT value FROM system.events WHERE event = 'Query'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return float64(n)
	}
	ok := func(got map[string]float64) bool {
		return got[`mlmon_scrape_success{model="a"}`] == 1 && got[`mlmon_scrape_success{model="b"}`] == 1
	}

	// Warm up: the first scrape also profiles the references.
	for range 2 {
		if got := exp.metrics("10"); !ok(got) {
			t.Fatalf("warm-up scrape failed:\n%s", exp.logs)
		}
	}
	baseline := exp.metrics("10")
	chBefore := serverQueries()
	single := exp.metrics("10")
	perScrape := queries(single) - queries(baseline)
	perScrapeCH := serverQueries() - chBefore - 1 // the count includes its own query
	t.Logf("one scrape: %v queries (exporter), %v (ClickHouse system.events), %.0f ms", perScrape, perScrapeCH,
		1000*(single[`mlmon_scrape_duration_seconds{model="a"}`]))

	// 32 at once, released together.
	const concurrent = 32
	chBefore = serverQueries()
	start := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]map[string]float64, concurrent)
	codes := make([]int, concurrent)
	for i := range concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("GET", exp.base+"/metrics", nil)
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
			resp, err := exp.opts.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var body strings.Builder
			if _, err := fmt.Fprint(&body, readAll(resp)); err != nil {
				t.Error(err)
			}
			codes[i] = resp.StatusCode
			results[i] = parseMetrics(t, body.String())
		}()
	}
	burst := time.Now()
	close(start)
	wg.Wait()
	burstTook := time.Since(burst)
	burstCH := serverQueries() - chBefore - 1
	after := exp.metrics("10")
	burstQueries := queries(after) - queries(single) - perScrape
	for i := range concurrent {
		if codes[i] != 200 || !ok(results[i]) {
			t.Errorf("concurrent scrape %d: status %d, success %v", i, codes[i], results[i] != nil && ok(results[i]))
		}
	}
	t.Logf("%d concurrent scrapes in %s: %v queries (exporter), %v (ClickHouse)", concurrent, burstTook.Round(time.Millisecond), burstQueries, burstCH)
	if burstQueries > perScrape || burstCH > perScrapeCH {
		t.Errorf("%d concurrent scrapes cost %v queries (ClickHouse counted %v), one scrape %v (%v): they must share one computation",
			concurrent, burstQueries, burstCH, perScrape, perScrapeCH)
	}

	// A scrape every second.
	dur := loadDuration(t)
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var n int
	var slowest time.Duration
	for end := time.Now().Add(dur); time.Now().Before(end); <-ticker.C {
		code, body, took := exp.scrape("10")
		n++
		slowest = max(slowest, took)
		if code != 200 {
			t.Fatalf("scrape %d: %d\n%s", n, code, body)
		}
		if got := parseMetrics(t, body); !ok(got) {
			t.Errorf("scrape %d failed:\n%s", n, body)
		}
	}
	t.Logf("%d scrapes over %s, slowest %s", n, dur, slowest.Round(time.Millisecond))

	// Back to baseline. Both measurements are taken the same way (during a
	// scrape of one client connection), so the scrape's own goroutines are
	// in both.
	transport.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond)
	final := exp.metrics("10")
	transport.CloseIdleConnections()
	for _, m := range []struct {
		name string
		tol  func(before float64) float64
	}{
		// Goroutines: the same idle state must have the same count, but an
		// HTTP connection closed by the client is noticed by the server a
		// moment later; a leak of one goroutine per scrape would be 90+.
		{"go_goroutines", func(float64) float64 { return 3 }},
		// Heap in use: with GOGC=100 it legitimately swings up to twice the
		// live heap between collections, plus the 4 MiB minimum heap
		// target; a leak of the 90+ scrapes' results (hundreds of KiB each)
		// would exceed that.
		{"go_memstats_heap_inuse_bytes", func(b float64) float64 { return b + 4<<20 }},
		// RSS: Go returns freed pages to the OS lazily (the scavenger), so
		// RSS keeps the peak of the concurrent burst for a while; bound it
		// by a fixed 32 MiB over the baseline.
		{"process_resident_memory_bytes", func(float64) float64 { return 32 << 20 }},
	} {
		before, afterV := baseline[m.name+"{}"], final[m.name+"{}"]
		t.Logf("%s: %.0f before, %.0f after", m.name, before, afterV)
		if afterV > before+m.tol(before) {
			t.Errorf("%s: %.0f after the load, %.0f before (tolerance +%.0f)", m.name, afterV, before, m.tol(before))
		}
	}
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
