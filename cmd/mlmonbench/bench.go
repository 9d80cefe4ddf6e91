package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/freeport"
)

const models = 3

type bench struct {
	srv      *chtest.Server
	others   []*chtest.Server // a cluster's other servers, whose CPU counts too
	dir      string
	exporter string
	scrapes  int
	naive    bool
}

type result struct {
	rows, features int
	floor          time.Duration // median over the warm scrapes' rounds
	floorCPU       time.Duration // ClickHouse's CPU time for the floor
	scraped
	naiveTime  time.Duration
	naiveBytes int64
}

func build(out string) error {
	cmd := exec.Command("go", "build", "-o", out, "./cmd/exporter")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// run seeds n current rows with f features per model and measures them.
func (b *bench) run(n, f int) result {
	numeric, categorical := f-f/5, f/5
	now := time.Now().Truncate(time.Second)
	fmt.Fprintf(os.Stderr, "seeding %d rows × %d features (%d numeric, %d categorical)\n", n, f, numeric, categorical)
	check(b.seed(n, numeric, categorical, now))
	r := result{rows: n, features: f}
	// The floor is measured between the warm scrapes, a round each, so
	// that both meet the same machine: on a shared one its speed drifts
	// by a third over minutes.
	pass, join := b.floorQueries(now)
	var floors, floorCPUs []time.Duration
	r.scraped = b.scrape(numeric, categorical, scenario{tables: benchTables}, func() {
		wall, cpu := b.measure(pass)
		jwall, jcpu := b.measure(join)
		floors, floorCPUs = append(floors, wall+jwall), append(floorCPUs, cpu+jcpu)
	})
	r.floor, r.floorCPU = median(floors), median(floorCPUs)
	fmt.Fprintf(os.Stderr, "  floor %s (CPU %s)\n", r.floor.Round(time.Millisecond), r.floorCPU.Round(time.Millisecond))
	fmt.Fprintf(os.Stderr, "  scrape cold %s, warm %s (CPU %s), %.0f queries, %.0f MiB RSS\n", r.cold.Round(time.Millisecond),
		r.warm.Round(time.Millisecond), r.cpu.Round(time.Millisecond), r.queries, r.rssMiB)
	if b.naive {
		r.naiveTime, r.naiveBytes = b.naivePeer(numeric, categorical, now)
		fmt.Fprintf(os.Stderr, "  naive %s, %d bytes\n", r.naiveTime.Round(time.Millisecond), r.naiveBytes)
	}
	return r
}

func columns(numeric, categorical int) (defs, names []string) {
	for i := range numeric {
		defs = append(defs, fmt.Sprintf("n%d Float64", i))
		names = append(names, fmt.Sprintf("n%d", i))
	}
	for i := range categorical {
		defs = append(defs, fmt.Sprintf("c%d String", i))
		names = append(names, fmt.Sprintf("c%d", i))
	}
	return defs, names
}

// seed generates the rows inside ClickHouse (INSERT … SELECT from numbers),
// so that seeding millions of rows is bounded by the server, not a client:
// a reference day of n/5 rows, n rows over the current hour, their labels.
func (b *bench) seed(n, numeric, categorical int, now time.Time) error {
	return b.srv.Exec(context.Background(), seedSQL(benchTables, n, time.Hour, numeric, categorical, now)...)
}

// tables is where a scenario's predictions and labels live.
type tables struct{ predictions, labels string }

var benchTables = tables{"bench", "bench_labels"}

// seedSQL creates t's tables and fills them: a reference day of max(n/5,
// 1000) rows, n rows over [now - span, now) drifted by +5, and a label a
// minute after each prediction of the last hour.
func seedSQL(t tables, n int, span time.Duration, numeric, categorical int, now time.Time) []string {
	return seedShapeSQL(t, n, span, numeric, categorical, now, models, fmt.Sprintf("ts >= toDateTime(%d)", now.Add(-time.Hour).Unix()))
}

// seedShapeSQL is seedSQL for nModels models, with labels for the
// predictions of the current span that labelled selects.
func seedShapeSQL(t tables, n int, span time.Duration, numeric, categorical int, now time.Time, nModels int, labelled string) []string {
	defs, _ := columns(numeric, categorical)
	values := func(shift string) string {
		var v []string
		for i := range numeric {
			v = append(v, fmt.Sprintf("(cityHash64(number, %d) %% 10000) / 100.0 + %s", i, shift))
		}
		for i := range categorical {
			v = append(v, fmt.Sprintf("concat('v', toString(cityHash64(number, %d) %% 12))", 100+i))
		}
		return strings.Join(v, ", ")
	}
	// insert writes rows spread over [from, from+span) in time order, in
	// chunks of at most two million rows: one INSERT of ten million through
	// the pre-aggregation views outlasts the client's read timeout. Each
	// chunk is a stretch of time, as a live stream of predictions would be,
	// so the views write about one state per interval.
	insert := func(from time.Time, span time.Duration, rows int, shift string) []string {
		var out []string
		for lo := 0; lo < rows; lo += chunkRows {
			out = append(out, fmt.Sprintf(`INSERT INTO %s SELECT toDateTime(%d + intDiv(number * %d, %d)), concat(toString(number), '-', toString(%d)),
			concat('m', toString(number %% %d)), toString(cityHash64(number, 7) %% 2), (cityHash64(number, 8) %% 1000) / 1000,
			(cityHash64(number, 9) %% 200) + 1, cityHash64(number, 10) %% 100 = 0, %s FROM numbers(%d) WHERE number >= %d AND number < %d`,
				t.predictions, from.Unix(), int64(span.Seconds()), rows, from.Unix(), nModels, values(shift), rows, lo, min(lo+chunkRows, rows)))
		}
		return out
	}
	stmts := []string{
		"DROP TABLE IF EXISTS " + t.predictions, "DROP TABLE IF EXISTS " + t.labels,
		"CREATE TABLE " + t.predictions + " (ts DateTime, request_id String, model String, prediction String, score Float64, latency_ms Float64, is_error UInt8, " +
			strings.Join(defs, ", ") + ") ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (model, ts)",
		"CREATE TABLE " + t.labels + " (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
	}
	stmts = append(stmts, insert(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 24*time.Hour, max(n/5, 1000), "0")...)
	stmts = append(stmts, insert(now.Add(-span), span, n, "5")...)
	return append(stmts, fmt.Sprintf(`INSERT INTO %s SELECT request_id, toString(cityHash64(request_id) %% 2), ts + 60 FROM %s WHERE %s`,
		t.labels, t.predictions, labelled))
}

// chunkRows is the most rows one seeding INSERT writes.
const chunkRows = 2_000_000

// floorQueries are the least a scrape can cost: one pass over every column
// it reads in the current window, and the join of predictions with labels.
// They may use every core (18.16 counts one on these machines and would use
// one thread), so the floor is as low as ClickHouse can make it here.
func (b *bench) floorQueries(now time.Time) (pass, join string) {
	return b.floorQueriesOf(benchTables, now.Add(-time.Hour), now, now.Add(-time.Hour))
}

// floorQueriesOf are floorQueries over t's window [from, to), with the
// labels that arrived from labelsFrom.
func (b *bench) floorQueriesOf(t tables, fromT, toT, labelsFrom time.Time) (pass, join string) {
	ctx := context.Background()
	var cols []string
	rows, err := b.srv.Conn().Query(ctx, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ?", t.predictions)
	check(err)
	for rows.Next() {
		var name, typ string
		check(rows.Scan(&name, &typ))
		if typ == "String" || typ == "DateTime" {
			cols = append(cols, "max("+name+")")
		} else {
			cols = append(cols, "sum("+name+")")
		}
	}
	rows.Close()
	from, to := fromT.Unix(), toT.Unix()
	threads := fmt.Sprintf(" SETTINGS max_threads = %d", runtime.NumCPU())
	pass = fmt.Sprintf("SELECT count(), %s FROM %s WHERE ts >= toDateTime(%d) AND ts < toDateTime(%d)", strings.Join(cols, ", "), t.predictions, from, to) + threads
	join = fmt.Sprintf(`SELECT count() FROM (SELECT request_id FROM %s WHERE ts >= toDateTime(%d) AND ts < toDateTime(%d)) AS p
		ALL INNER JOIN (SELECT request_id FROM %s WHERE ts >= toDateTime(%d)) AS l USING request_id`, t.predictions, from, to, t.labels, labelsFrom.Unix()) + threads
	return pass, join
}

// measure runs q and returns its time and the CPU time ClickHouse spent.
func (b *bench) measure(q string) (wall, cpu time.Duration) {
	before := b.serverCPU()
	start := time.Now()
	b.exec(q)
	return time.Since(start), b.serverCPU() - before
}

// serverCPU is the CPU time ClickHouse has used so far, on every server.
func (b *bench) serverCPU() time.Duration {
	var sum time.Duration
	for _, s := range append([]*chtest.Server{b.srv}, b.others...) {
		d, err := s.CPUTime()
		check(err)
		sum += d
	}
	return sum
}

func (b *bench) exec(q string) {
	rows, err := b.srv.Conn().Query(context.Background(), q)
	check(err)
	for rows.Next() {
	}
	check(rows.Err())
	rows.Close()
}

// cost is what one query took: its wall time, and the CPU time the server
// spent on it.
type cost struct{ wall, cpu time.Duration }

// medianCost is the median wall time and the median CPU time of cs, each
// taken on its own.
func medianCost(cs []cost) cost {
	var walls, cpus []time.Duration
	for _, c := range cs {
		walls, cpus = append(walls, c.wall), append(cpus, c.cpu)
	}
	return cost{wall: median(walls), cpu: median(cpus)}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// countingProxy forwards connections to a ClickHouse server and counts the
// bytes each way: what its clients receive and send.
type countingProxy struct {
	ln             net.Listener
	target         atomic.Pointer[string]
	received, sent atomic.Int64
}

// newProxy listens on a free loopback port; target may be "" and set
// later, before the first connection.
func newProxy(target string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	p := &countingProxy{ln: ln}
	p.target.Store(&target)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", *p.target.Load())
				if err != nil {
					return
				}
				defer s.Close()
				go io.Copy(countingWriter{s, &p.sent}, c)
				io.Copy(countingWriter{c, &p.received}, s)
			}()
		}
	}()
	return p
}

// countingWriter counts as it writes: pooled connections stay open, so the
// count cannot wait for a copy to end.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (cw countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n.Add(int64(n))
	return n, err
}

// scenario is what the exporter is pointed at: the tables and any keys each
// model adds to the default configuration (one YAML line each).
type scenario struct {
	tables
	modelKeys []string
	join      string // ground_truth.distributed_join, "" for the default
	models    int    // 0: the default three
	// config, when set, is the configuration's models list, instead of
	// models binary models over tables; its first model must be m0.
	config string
}

// scraped is what the exporter's scrapes of one scenario cost.
type scraped struct {
	cold, warm     time.Duration
	cpu            time.Duration // ClickHouse's CPU time per warm scrape (median)
	queries        float64       // per warm scrape
	readRows       float64       // ClickHouse rows read per warm scrape, from the cost counters
	bytesPerScrape int64         // ClickHouse sent the exporter per warm scrape
	rssMiB         float64
	last           string // the last scrape's metrics
}

// scrape runs the exporter on sc: a cold scrape, then b.scrapes warm ones,
// each after a call of between (nil: none), which the timings leave out.
func (b *bench) scrape(numeric, categorical int, sc scenario, between func()) scraped {
	proxy := newProxy(b.srv.Addr())
	defer proxy.ln.Close()
	list := sc.config
	if list == "" {
		list = sc.binaryModels(numeric, categorical)
	}
	cfg := fmt.Sprintf("clickhouse: {addr: [%q], query_timeout: 300s}\nmodels:\n%s", proxy.ln.Addr().String(), list)
	path := filepath.Join(b.dir, "mlmon.yml")
	check(os.WriteFile(path, []byte(cfg), 0o644))
	addr, err := freeport.Addr()
	check(err)
	logFile, err := os.Create(filepath.Join(b.dir, "exporter.log"))
	check(err)
	defer logFile.Close()
	cmd := exec.Command(b.exporter, "--config.file="+path, "--web.listen-address="+addr, "--log.level=debug")
	cmd.Stderr = logFile
	check(cmd.Start())
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	for range 100 {
		if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	get := func() string {
		req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "300")
		resp, err := http.DefaultClient.Do(req)
		check(err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), `mlmon_scrape_success{model="m0"} 1`) {
			check(fmt.Errorf("scrape failed:\n%s", grep(string(body), "mlmon_scrape_success")))
		}
		return string(body)
	}
	var r scraped
	start := time.Now()
	get()
	r.cold = time.Since(start)
	first := get()
	var ds, cpus []time.Duration
	var last string
	var bytes int64
	for range b.scrapes {
		if between != nil {
			between()
		}
		before, start, got := b.serverCPU(), time.Now(), proxy.received.Load()
		last = get()
		ds, cpus = append(ds, time.Since(start)), append(cpus, b.serverCPU()-before)
		bytes += proxy.received.Load() - got
	}
	r.warm, r.cpu, r.last = median(ds), median(cpus), last
	// Each scrape's counters include its own queries, so the difference
	// between the first and the last covers the b.scrapes scrapes after the
	// first.
	per := func(metric string) float64 {
		return (sumMetric(last, metric) - sumMetric(first, metric)) / float64(b.scrapes)
	}
	r.queries, r.readRows = per("mlmon_clickhouse_queries_total"), per("mlmon_clickhouse_read_rows_total")
	r.bytesPerScrape = bytes / int64(b.scrapes)
	r.rssMiB = peakRSS(cmd.Process.Pid)
	return r
}

// binaryModels is the configuration's models list of sc without a config of
// its own: sc.models binary models (0: the default three) over sc's tables.
func (sc scenario) binaryModels(numeric, categorical int) string {
	features := featuresYAML(numeric, categorical)
	n := sc.models
	if n == 0 {
		n = models
	}
	var cfg strings.Builder
	for m := range n {
		fmt.Fprintf(&cfg, `  - name: m%d
    task: binary_classification
    positive_class: "1"
    predictions: {table: %s, timestamp: ts, id: request_id, model_column: model, prediction: prediction, score: score, latency: latency_ms, error: is_error}
    ground_truth: {table: %s, id: request_id, label: label, timestamp: ts%s}
    features:
%s    reference: {from: 2026-01-01T00:00:00Z, to: 2026-01-02T00:00:00Z}
`, m, sc.predictions, sc.labels, joinKey(sc.join), features)
		for _, k := range sc.modelKeys {
			fmt.Fprintf(&cfg, "    %s\n", k)
		}
	}
	return cfg.String()
}

// featuresYAML is a model's features: list, the columns of columns(numeric,
// categorical).
func featuresYAML(numeric, categorical int) string {
	_, names := columns(numeric, categorical)
	var features strings.Builder
	for i, n := range names {
		typ := "numeric"
		if i >= numeric {
			typ = "categorical"
		}
		fmt.Fprintf(&features, "      - {name: %s, type: %s}\n", n, typ)
	}
	return features.String()
}

func joinKey(join string) string {
	if join == "" {
		return ""
	}
	return ", distributed_join: " + join
}

func sumMetric(text, name string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

func grep(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// peakRSS reads the process's high-water mark of resident memory.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func printTable(w io.Writer, rs []result) {
	fmt.Fprintln(w, "| rows | features | floor | scrape (warm) | scrape (cold) | scrape/floor | ClickHouse CPU: floor | scrape | queries/scrape | bytes to exporter/scrape | exporter peak RSS | naive peer | naive/scrape | naive bytes | naive/exporter bytes |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		naive, ratio, nb, bratio := "–", "–", "–", "–"
		if r.naiveTime > 0 {
			naive = r.naiveTime.Round(time.Millisecond).String()
			ratio = fmt.Sprintf("%.1f×", r.naiveTime.Seconds()/r.warm.Seconds())
			nb = fmt.Sprintf("%.1f MB", float64(r.naiveBytes)/1e6)
			bratio = fmt.Sprintf("%.0f×", float64(r.naiveBytes)/float64(max(r.bytesPerScrape, 1)))
		}
		fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %.2f | %s | %s | %.0f | %.1f kB | %.0f MiB | %s | %s | %s | %s |\n",
			r.rows, r.features, r.floor.Round(time.Millisecond), r.warm.Round(time.Millisecond), r.cold.Round(time.Millisecond),
			r.warm.Seconds()/r.floor.Seconds(), r.floorCPU.Round(10*time.Millisecond), r.cpu.Round(10*time.Millisecond),
			r.queries, float64(r.bytesPerScrape)/1e3, r.rssMiB, naive, ratio, nb, bratio)
	}
}
