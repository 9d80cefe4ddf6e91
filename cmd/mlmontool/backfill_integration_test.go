package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/collector"
	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/freeport"
	"github.com/mlmon/mlmon/internal/stacktest"
)

// TestBackfillIntoPrometheus backfills a seeded demo history from a real
// ClickHouse, turns it into blocks with promtool, starts a real Prometheus
// on them and checks past values against scrapes with their clock set to
// those times and against a plain count in ClickHouse; then it backtests
// the shipped rules (mlmontool backtest-rules, promtool tsdb
// create-blocks-from rules) and checks that the demo's drift alert fires in
// the drifted period and not before.
//
// The history, at 0.2 predictions per second per model: the demo's
// reference day, four healthy hours, then four hours of drift ending now.
func TestBackfillIntoPrometheus(t *testing.T) {
	for _, bin := range []string{"promtool", "prometheus"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found on PATH (apt-get install prometheus)", bin)
		}
	}
	root, err := stacktest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	srv, err := chtest.Start(filepath.Join(dir, "clickhouse"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	stmts, err := chtest.Statements(filepath.Join(root, stacktest.SchemaFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Exec(ctx, stmts...); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/demodata")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/demodata: %v\n%s", err, out)
	}
	now := time.Now().UTC().Truncate(time.Second)
	driftStart := now.Add(-4 * time.Hour)
	seed := func(args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, "demodata"), append([]string{"--clickhouse.addr=" + srv.Addr(), "--rate=0.2"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("demodata %v: %v\n%s", args, err, out)
		}
	}
	seed("--history=0s") // the reference day of the demo configuration
	seed("--reference.from="+now.Add(-8*time.Hour).Format(time.RFC3339), "--reference.length=4h", "--history=0s", "--seed=2")
	seed("--reference.length=0s", "--history=4h", "--drift=1", "--seed=3")

	shipped, err := os.ReadFile(filepath.Join(root, stacktest.DemoConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfgBytes, err := stacktest.ExporterConfigFor(shipped, srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "mlmon.yml")
	if err := os.WriteFile(cfgFile, cfgBytes, 0o644); err != nil {
		t.Fatal(err)
	}

	// Steps every 15 minutes over the last seven hours.
	const step = 15 * time.Minute
	from := now.Add(-7 * time.Hour).Truncate(step)
	to := now.Add(-time.Minute).Truncate(step)
	history := filepath.Join(dir, "history.om")
	var stdout, stderr bytes.Buffer
	args := []string{"backfill", "--config.file=" + cfgFile, "--from=" + from.Format(time.RFC3339),
		"--to=" + to.Format(time.RFC3339), "--step=15m", "--output=" + history}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("mlmontool %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	t.Logf("backfill:\n%s", lastLinesOf(stderr.String(), 3))
	nSteps := int(to.Sub(from)/step) + 1
	if !strings.Contains(stderr.String(), fmt.Sprintf("%d/%d steps (100%%)", nSteps, nSteps)) || !strings.Contains(stderr.String(), "ETA") {
		t.Errorf("no final progress line for %d steps on stderr:\n%s", nSteps, stderr.String())
	}
	checkOpenMetricsLayout(t, history)
	checkResume(t, cfgFile, dir, from, step)
	checkFailedModel(t, cfgBytes, dir, from, step)

	blocks := filepath.Join(dir, "prometheus")
	runPromtool(t, "tsdb", "create-blocks-from", "openmetrics", history, blocks)
	prom := startBackfillPrometheus(t, dir, blocks, "5m")

	// Past values equal what a scrape at that time computes.
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	client, err := chquery.Open(cfg.ClickHouse, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	checked := []time.Time{from.Add(2 * step), driftStart.Truncate(step).Add(3 * step), to}
	for _, at := range checked {
		want := scrapeAt(ctx, t, cfg, client, at)
		got := prom.instant(t, `{__name__=~"mlmon_.+"}`, at)
		compareWithScrape(t, at, want, got)

		// A second method for one value: a plain count of the current
		// window's rows (demo window 30m).
		var rows uint64
		if err := srv.Conn().QueryRow(ctx, "SELECT count() FROM predictions WHERE model = 'churn' AND ts >= toDateTime(?) AND ts < toDateTime(?)",
			at.Add(-30*time.Minute).Unix(), at.Unix()).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		key := promSeriesKey(map[string]string{"__name__": "mlmon_predictions", "model": "churn", "window": "current"})
		if got[key] != float64(rows) || rows == 0 {
			t.Errorf("%s at %s: Prometheus has %v, ClickHouse counts %d rows", key, at.Format(time.RFC3339), got[key], rows)
		}
	}

	// The rules backtest: the passes of create-blocks-from rules, each
	// moved into Prometheus before the next reads it.
	passes := filepath.Join(dir, "backtest")
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"backtest-rules", "--output-dir=" + passes, filepath.Join(root, "rules", "mlmon.rules.yml")}, &stdout, &stderr); code != 0 {
		t.Fatalf("mlmontool backtest-rules: exit %d\n%s", code, stderr.String())
	}
	files, err := filepath.Glob(filepath.Join(passes, "pass-*.yml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("backtest-rules wrote %v (%v), want at least two passes (the drift rules chain)", files, err)
	}
	slices.Sort(files)
	// promtool evaluates a rule group at its own offset within the
	// interval, not at the steps: with a lookback of one step, every
	// evaluation sees the latest step.
	prom.stop()
	prom = startBackfillPrometheus(t, dir, blocks, "15m")
	for i, f := range files {
		outDir := filepath.Join(dir, fmt.Sprintf("rules-%d", i+1))
		out := runPromtool(t, "tsdb", "create-blocks-from", "rules", "--url="+prom.url(), "--start="+from.Format(time.RFC3339),
			"--end="+to.Format(time.RFC3339), "--eval-interval=15m", "--output-dir="+outDir, f)
		if ents, err := os.ReadDir(outDir); err != nil || len(ents) == 0 {
			t.Fatalf("promtool wrote no block for %s (%v):\n%s", f, err, lastLinesOf(out, 5))
		}
		prom.stop()
		moveBlocks(t, outDir, blocks)
		prom = startBackfillPrometheus(t, dir, blocks, "15m")
	}

	// MLMonFeatureDriftMultiple (for: 30m) fires at the first evaluation
	// at which its condition has held for 30 minutes of evaluations. Each
	// evaluation reads the latest step at or before it.
	evals := prom.samples(t, BacktestAlertMetric+`{alertname="MLMonFeatureDriftMultiple",model="churn"}`, to.Add(step), to.Sub(from)+2*step)
	var fired, pendingSince, prev time.Time
	for _, e := range evals {
		if read := from.Add(e.Sub(from).Truncate(step)); !read.After(driftStart) {
			t.Errorf("drift alert condition holds at %s (the step of %s), before the drift starts at %s",
				e.Format(time.RFC3339), read.Format(time.RFC3339), driftStart.Format(time.RFC3339))
		}
		if pendingSince.IsZero() || e.Sub(prev) > step {
			pendingSince = e
		}
		prev = e
		if fired.IsZero() && e.Sub(pendingSince) >= 30*time.Minute {
			fired = e
		}
	}
	if fired.IsZero() {
		for _, e := range []string{"model_feature:mlmon_feature_psi:drifted", "model:mlmon_feature_drifted:count"} {
			t.Logf("%s at %s: %v", e, to, prom.instant(t, e, to))
		}
		t.Fatalf("the backtest never fires MLMonFeatureDriftMultiple for churn between %s and %s (condition at %v)", from, to, evals)
	}
	if !fired.After(driftStart) {
		t.Errorf("MLMonFeatureDriftMultiple fires at %s, before the drift starts at %s", fired, driftStart)
	}
	t.Logf("drift starts %s; MLMonFeatureDriftMultiple fires at %s", driftStart.Format(time.RFC3339), fired.Format(time.RFC3339))
}

// scrapeAt is what the exporter exposes at at once its references are in: a
// scrape with its clock set to at, on a fresh target that waits for its
// reference computations (a live exporter's first scrapes of a segmented
// model do not: they come a few scrapes later), keeping the families a
// backfill writes. The backfill builds its own target, so the two share no
// cache.
func scrapeAt(ctx context.Context, t *testing.T, cfg *config.Config, client *chquery.Client, at time.Time) map[string]float64 {
	t.Helper()
	target := collector.NewHistoryTarget(cfg, client)
	defer target.References.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.NewScrape(ctx, target, collector.NewCounters(), slog.New(slog.DiscardHandler), at))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	keep := collector.HistoryMetricNames()
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == collector.ScrapeSuccessMetric {
			for _, m := range mf.Metric {
				if m.GetGauge().GetValue() != 1 {
					t.Fatalf("scrape at %s: a model failed: %v", at, m)
				}
			}
		}
		if !slices.Contains(keep, mf.GetName()) {
			continue
		}
		for _, m := range mf.Metric {
			labels := map[string]string{"__name__": mf.GetName()}
			for _, l := range m.Label {
				if l.GetValue() != "" { // Prometheus: an empty label is no label
					labels[l.GetName()] = l.GetValue()
				}
			}
			out[promSeriesKey(labels)] = m.GetGauge().GetValue()
		}
	}
	return out
}

// compareWithScrape checks that Prometheus holds exactly the scrape's series at
// at, with the same values. ClickHouse adds floating-point sums in an order
// that may differ between two runs of a query, so values agree to 1e-9
// relative rather than bit for bit.
func compareWithScrape(t *testing.T, at time.Time, want, got map[string]float64) {
	t.Helper()
	if len(want) < 100 {
		t.Fatalf("scrape at %s: only %d series", at, len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("at %s: %s missing from Prometheus (scrape: %v)", at.Format(time.RFC3339), k, w)
			continue
		}
		if math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Errorf("at %s: %s = %v in Prometheus, %v in a scrape", at.Format(time.RFC3339), k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("at %s: %s in Prometheus but not in a scrape", at.Format(time.RFC3339), k)
		}
	}
}

func promSeriesKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, labels[k])
	}
	return b.String()
}

// checkOpenMetricsLayout checks what promtool's parser does not: each
// family's metadata appears once (families are contiguous), and the file
// ends with # EOF.
func checkOpenMetricsLayout(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("# EOF\n")) {
		t.Errorf("%s does not end with # EOF", path)
	}
	seen := map[string]bool{}
	current := ""
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name = strings.Fields(name)[0]
			if seen[name] {
				t.Errorf("family %s appears twice", name)
			}
			seen[name], current = true, name
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		if name != current {
			t.Errorf("sample of %s inside family %s: %s", name, current, line)
			return
		}
	}
	for _, name := range []string{"mlmon_build_info", "mlmon_scrape_success", "mlmon_clickhouse_up", "mlmon_query_errors_total", "mlmon_scrape_duration_seconds"} {
		if seen[name] {
			t.Errorf("exporter health family %s was backfilled", name)
		}
	}
	for _, name := range []string{"mlmon_feature_psi", "mlmon_accuracy_ratio", "mlmon_alert_threshold", "mlmon_mae"} {
		if !seen[name] {
			t.Errorf("family %s missing from the backfill", name)
		}
	}
}

func runPromtool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("promtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, lastLinesOf(string(out), 20))
	}
	return string(out)
}

// moveBlocks moves the blocks promtool wrote under src into Prometheus's
// data directory.
func moveBlocks(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// backfillPrometheus is a Prometheus that scrapes nothing and serves the blocks of
// its data directory.
type backfillPrometheus struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startBackfillPrometheus(t *testing.T, dir, data, lookback string) *backfillPrometheus {
	t.Helper()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  evaluation_interval: 15m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.OpenFile(filepath.Join(dir, "prometheus.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("prometheus", "--config.file="+cfg, "--storage.tsdb.path="+data,
		"--web.listen-address="+addr, "--query.lookback-delta="+lookback, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &backfillPrometheus{addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); log.Close(); close(p.done) }()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url() + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("prometheus exited:\n%s", lastLinesOf(string(b), 20))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("prometheus not ready within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *backfillPrometheus) url() string { return "http://" + p.addr }

func (p *backfillPrometheus) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *backfillPrometheus) api(t *testing.T, path string, params url.Values, result any) {
	t.Helper()
	resp, err := http.Get(p.url() + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		t.Fatalf("%s %v: %v %s %s", path, params, err, r.Error, body)
	}
	if err := json.Unmarshal(r.Data, result); err != nil {
		t.Fatal(err)
	}
}

// instant is every series of expr at at, keyed by seriesString.
func (p *backfillPrometheus) instant(t *testing.T, expr string, at time.Time) map[string]float64 {
	t.Helper()
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	p.api(t, "/api/v1/query", url.Values{"query": {expr}, "time": {strconv.FormatInt(at.Unix(), 10)}}, &data)
	out := map[string]float64{}
	for _, r := range data.Result {
		v, err := strconv.ParseFloat(r.Value[1].(string), 64)
		if err != nil {
			t.Fatal(err)
		}
		out[promSeriesKey(r.Metric)] = v
	}
	return out
}

// samples are the timestamps of expr's raw samples (a range selector of
// width at at), in increasing order.
func (p *backfillPrometheus) samples(t *testing.T, expr string, at time.Time, width time.Duration) []time.Time {
	t.Helper()
	var data struct {
		Result []struct {
			Values [][2]any `json:"values"`
		} `json:"result"`
	}
	p.api(t, "/api/v1/query", url.Values{"query": {fmt.Sprintf("%s[%ds]", expr, int(width.Seconds()))},
		"time": {strconv.FormatInt(at.Unix(), 10)}}, &data)
	var out []time.Time
	for _, r := range data.Result {
		for _, v := range r.Values {
			out = append(out, time.Unix(int64(v[0].(float64)), 0).UTC())
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// checkResume interrupts a backfill after its third step, then resumes it
// from the --from its error names: the two files hold every step once.
func checkResume(t *testing.T, cfgFile, dir string, from time.Time, step time.Duration) {
	t.Helper()
	to := from.Add(7 * step)
	first := filepath.Join(dir, "part1.om")
	f := &backfillFlags{configFile: cfgFile, from: from.Format(time.RFC3339), to: to.Format(time.RFC3339), step: "15m", output: first}
	var stderr bytes.Buffer
	b, err := newBackfill(f, &stderr, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.afterStep = func(done int) {
		if done == 3 {
			cancel()
		}
	}
	err = b.run(ctx)
	if err == nil {
		t.Fatal("interrupted backfill: no error")
	}
	m := regexp.MustCompile(`resume with --from=(\S+) `).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("interrupted backfill: the error does not say where to resume: %v", err)
	}
	second := filepath.Join(dir, "part2.om")
	var out bytes.Buffer
	if code := run([]string{"backfill", "--config.file=" + cfgFile, "--from=" + m[1], "--to=" + to.Format(time.RFC3339),
		"--step=15m", "--output=" + second}, &out, &stderr); code != 0 {
		t.Fatalf("resumed backfill: exit %d\n%s", code, stderr.String())
	}
	seen := map[string]map[int64]int{}
	for _, file := range []string{first, second} {
		for series, ts := range samplesOf(t, file) {
			if seen[series] == nil {
				seen[series] = map[int64]int{}
			}
			for _, s := range ts {
				seen[series][s]++
			}
		}
	}
	all := map[int64]bool{}
	for series, ts := range seen {
		for s, n := range ts {
			all[s] = true
			if n != 1 {
				t.Errorf("resume: %s at %d written %d times", series, s, n)
			}
		}
	}
	for s := from; !s.After(to); s = s.Add(step) {
		if !all[s.Unix()] {
			t.Errorf("resume: no sample at step %s in either file", s.Format(time.RFC3339))
		}
	}
	if len(all) != 8 {
		t.Errorf("resume: samples at %d distinct times, want the 8 steps", len(all))
	}
}

// checkFailedModel backfills with one model reading a table that does not
// exist: every step reports it, writes none of its series, keeps the
// others, and the exit code is 1.
func checkFailedModel(t *testing.T, cfg []byte, dir string, from time.Time, step time.Duration) {
	t.Helper()
	broken := bytes.Replace(cfg, []byte("table: eta_predictions"), []byte("table: no_such_table"), 1)
	if bytes.Equal(broken, cfg) {
		t.Fatal("the demo configuration has no eta_predictions table to break")
	}
	cfgFile := filepath.Join(dir, "broken.yml")
	if err := os.WriteFile(cfgFile, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	output := filepath.Join(dir, "broken.om")
	var stdout, stderr bytes.Buffer
	code := run([]string{"backfill", "--config.file=" + cfgFile, "--from=" + from.Format(time.RFC3339),
		"--to=" + from.Add(step).Format(time.RFC3339), "--step=15m", "--output=" + output}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("a failing model: exit %d, want 1\n%s", code, stderr.String())
	}
	for _, at := range []time.Time{from, from.Add(step)} {
		want := fmt.Sprintf("step %s: model eta failed", at.Format(time.RFC3339))
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not report %q:\n%s", want, stderr.String())
		}
	}
	models := map[string]bool{}
	for series := range samplesOf(t, output) {
		if m := regexp.MustCompile(`model="([^"]*)"`).FindStringSubmatch(series); m != nil {
			models[m[1]] = true
		}
	}
	if models["eta"] || !models["churn"] || !models["intent"] {
		t.Errorf("a failing model: series of models %v written, want churn and intent only", models)
	}
}

// samplesOf reads an OpenMetrics file written by backfill: the timestamps
// (unix seconds) of each series.
func samplesOf(t *testing.T, path string) map[string][]int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		j := strings.LastIndexByte(line[:i], ' ')
		ts, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		out[line[:j]] = append(out[line[:j]], int64(ts))
	}
	return out
}
