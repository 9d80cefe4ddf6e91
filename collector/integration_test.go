package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/promslog"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
)

var server *chtest.Server

func TestMain(m *testing.M) { chtest.Main(m, &server) }

// scrapeNow is the fixed scrape time of the integration tests.
var scrapeNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const schema = `
CREATE TABLE IF NOT EXISTS preds (ts DateTime, request_id String, model String, model_version String,
  prediction String, score Nullable(Float64), latency_ms Nullable(Float64), is_error UInt8)
  ENGINE = MergeTree ORDER BY (model, ts);
CREATE TABLE IF NOT EXISTS labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id;
CREATE TABLE IF NOT EXISTS reg_preds (ts DateTime, request_id String, prediction Float64, latency_ms Float64)
  ENGINE = MergeTree ORDER BY ts;
CREATE TABLE IF NOT EXISTS reg_labels (request_id String, label Float64, ts DateTime) ENGINE = MergeTree ORDER BY request_id`

const integrationConfig = `
clickhouse:
  addr: [%q]
  query_timeout: 20s
defaults:
  window: 1h
models:
  - name: churn
    task: binary_classification
    positive_class: "1"
    predictions: {table: preds, timestamp: ts, id: request_id, model_column: model, version_column: model_version,
                  prediction: prediction, score: score, latency: latency_ms, error: is_error}
    ground_truth: {table: labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 2h, delay: 30m}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
    thresholds: {accuracy_drop_max: 0.05, psi_max: 0.25}
  - name: intent
    task: multiclass_classification
    predictions: {table: preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction, latency: latency_ms}
    ground_truth: {table: labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 2h, delay: 30m}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
  - name: upsell
    task: binary_classification
    positive_class: "1"
    predictions: {table: preds, timestamp: ts, id: request_id, model_column: model, version_column: model_version,
                  prediction: prediction, score: score, latency: latency_ms, error: is_error}
    ground_truth: {table: labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 2h, delay: 30m}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
  - name: eta
    task: regression
    predictions: {table: reg_preds, timestamp: ts, id: request_id, prediction: prediction, latency: latency_ms}
    ground_truth: {table: reg_labels, id: request_id, label: label, timestamp: ts}
    reference: {offset: 24h}
`

// seededModel holds the raw rows of one model, as seeded and as handed to
// the oracle.
type seededModel struct {
	Name          string           `json:"name"`
	Task          string           `json:"task"`
	PositiveClass string           `json:"positive_class,omitempty"`
	ErrorColumn   bool             `json:"error_column"`
	Predictions   []map[string]any `json:"predictions"`
	Labels        []map[string]any `json:"labels"`
	Current       [2]int64         `json:"current"`
	Lookback      [2]int64         `json:"lookback"`
	Performance   [2]int64         `json:"performance"`
	Reference     [2]int64         `json:"reference"`
}

func span(from, to time.Time) [2]int64 { return [2]int64{from.Unix(), to.Unix()} }

// seed writes deterministic rows for the four models and returns them.
// Rows fall inside and outside every window (before, after now), some labels
// are corrected later, some never arrive, and scores and latencies are
// sometimes NULL, so the test proves the filtering as well as the math.
func seed(t *testing.T) []seededModel { return seedInto(t, server) }

// seedInto is seed on srv.
func seedInto(t *testing.T, srv *chtest.Server) []seededModel {
	ctx := context.Background()
	// Seeded afresh, so that a second seed does not double the rows.
	drop := []string{"DROP TABLE IF EXISTS preds", "DROP TABLE IF EXISTS labels", "DROP TABLE IF EXISTS reg_preds", "DROP TABLE IF EXISTS reg_labels"}
	if err := srv.Exec(ctx, append(drop, strings.Split(schema, ";")...)...); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	now := scrapeNow
	ref := [2]time.Time{time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 6, 0, 0, 0, time.UTC)}
	hour := time.Hour
	churn := seededModel{Name: "churn", Task: "binary_classification", PositiveClass: "1", ErrorColumn: true,
		Current: span(now.Add(-hour), now), Lookback: span(now.Add(-24*hour), now),
		Performance: span(now.Add(-150*time.Minute), now.Add(-30*time.Minute)), Reference: span(ref[0], ref[1])}
	intent := churn
	intent.Name, intent.Task, intent.PositiveClass, intent.ErrorColumn = "intent", "multiclass_classification", "", false
	eta := seededModel{Name: "eta", Task: "regression",
		Current: span(now.Add(-hour), now), Lookback: span(now.Add(-24*hour), now),
		Performance: span(now.Add(-hour), now), Reference: span(now.Add(-25*hour), now.Add(-24*hour))}

	id := 0
	nextID := func() string { id++; return fmt.Sprintf("r-%06d", id) }
	addLabel := func(m *seededModel, rid string, ts time.Time, value any, correct func() any) {
		if rng.Float64() < 0.2 {
			return // the label never arrives
		}
		lts := ts.Add(time.Duration(1+rng.IntN(90)) * time.Minute)
		m.Labels = append(m.Labels, map[string]any{"request_id": rid, "label": value, "ts": lts.Unix()})
		if rng.Float64() < 0.05 {
			m.Labels = append(m.Labels, map[string]any{"request_id": rid, "label": correct(), "ts": lts.Add(time.Hour).Unix()})
		}
	}
	// Times: the reference period, and the last 4 hours plus 10 minutes
	// beyond now (clock skew that must not count).
	times := func(n int) []time.Time {
		var ts []time.Time
		for range n / 3 {
			ts = append(ts, ref[0].Add(time.Duration(rng.Int64N(int64(6*hour)))))
		}
		for range n - n/3 {
			ts = append(ts, now.Add(-4*hour+time.Duration(rng.Int64N(int64(250*time.Minute)))))
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		return ts
	}
	latency := func() any {
		if rng.Float64() < 0.05 {
			return nil
		}
		return math.Round(math.Exp(3.5+0.6*rng.NormFloat64())*1000) / 1000
	}
	// binary seeds n predictions of a binary model: score s, actual class
	// 1 with probability positive(s), predicted 1 from threshold on.
	binary := func(m *seededModel, n int, positive func(s float64) float64, threshold, errors float64, version func(i int) string) {
		for i, ts := range times(n) {
			rid := nextID()
			s := rng.Float64()
			actual := "0"
			if rng.Float64() < positive(s) {
				actual = "1"
			}
			pred := "0"
			if s >= threshold {
				pred = "1"
			}
			var score any = s
			if rng.Float64() < 0.03 {
				score = nil
			}
			m.Predictions = append(m.Predictions, map[string]any{"ts": ts.Unix(), "request_id": rid, "model_version": version(i),
				"prediction": pred, "score": score, "latency": latency(), "error": boolInt(rng.Float64() < errors)})
			flip := map[string]string{"0": "1", "1": "0"}[actual]
			addLabel(m, rid, ts, actual, func() any { return flip })
		}
	}
	binary(&churn, 4500, func(s float64) float64 { return 0.15 + 0.7*s }, 0.5, 0.02, func(i int) string {
		if i > 3000 {
			return "v2"
		}
		return "v1"
	})
	classes := []string{"billing", "cancel", "sales", "tech_support"}
	for _, ts := range times(3000) {
		rid := nextID()
		actual := classes[min(rng.IntN(10)/2, 3)]
		pred := actual
		if rng.Float64() < 0.3 {
			pred = classes[rng.IntN(4)]
		}
		intent.Predictions = append(intent.Predictions, map[string]any{"ts": ts.Unix(), "request_id": rid, "model_version": "",
			"prediction": pred, "score": nil, "latency": latency(), "error": 0})
		addLabel(&intent, rid, ts, actual, func() any { return classes[rng.IntN(4)] })
	}
	for range 4000 {
		ts := now.Add(-27*hour + time.Duration(rng.Int64N(int64(27*hour))))
		rid := nextID()
		y := math.Round(rng.ExpFloat64()*20*100) / 100 // some exact zeros
		if rng.Float64() < 0.03 {
			y = 0
		}
		p := y + 3*rng.NormFloat64()
		eta.Predictions = append(eta.Predictions, map[string]any{"ts": ts.Unix(), "request_id": rid, "prediction": p,
			"latency": math.Round(math.Exp(2+0.5*rng.NormFloat64())*1000) / 1000, "error": 0})
		addLabel(&eta, rid, ts, y, func() any { return y + 1 })
	}

	// upsell reads churn's tables with churn's columns: the two share one
	// performance join (sharedjoin.go). Seeded last, so that the rows of
	// the others stay as they were.
	upsell := churn
	upsell.Name, upsell.Predictions, upsell.Labels = "upsell", nil, nil
	binary(&upsell, 2400, func(s float64) float64 { return 0.1 + 0.5*s }, 0.6, 0.01, func(int) string { return "u1" })

	insert := func(stmt string, rows []map[string]any, cols ...string) {
		b, err := srv.Conn().PrepareBatch(ctx, stmt)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			var vals []any
			for _, c := range cols {
				v := r[c]
				switch c {
				case "ts":
					v = time.Unix(v.(int64), 0)
				case "score", "latency_nullable":
					if v == nil {
						v = (*float64)(nil)
					} else {
						f := v.(float64)
						v = &f
					}
				}
				vals = append(vals, v)
			}
			if err := b.Append(vals...); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*seededModel{&churn, &intent, &upsell} {
		for _, r := range m.Predictions {
			r["model"] = m.Name
			r["latency_nullable"] = r["latency"]
			r["is_error"] = uint8(r["error"].(int))
		}
		insert("INSERT INTO preds (ts, request_id, model, model_version, prediction, score, latency_ms, is_error)", m.Predictions,
			"ts", "request_id", "model", "model_version", "prediction", "score", "latency_nullable", "is_error")
		insert("INSERT INTO labels (request_id, label, ts)", m.Labels, "request_id", "label", "ts")
		for _, r := range m.Predictions {
			delete(r, "latency_nullable")
			delete(r, "is_error")
		}
	}
	insert("INSERT INTO reg_preds (ts, request_id, prediction, latency_ms)", eta.Predictions, "ts", "request_id", "prediction", "latency")
	insert("INSERT INTO reg_labels (request_id, label, ts)", eta.Labels, "request_id", "label", "ts")
	return []seededModel{churn, intent, eta, upsell}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// runOracle runs a Python oracle (testdata/*.py) on the raw rows, JSON on
// its stdin, and returns the "name{labels}" → value it computed.
func runOracle(t *testing.T, script string, input any) map[string]float64 {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle %s: %v\n%s", script, err, stderr.String())
	}
	want := map[string]float64{}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

// compareToOracle asserts every series the oracle computed, and that the
// scrape has no other series in those families (skipping the prefixes in
// skip): an extra one would be a value the exporter made up.
func compareToOracle(t *testing.T, got, want map[string]float64, skip ...string) {
	t.Helper()
	family := func(k string) string { return k[:strings.Index(k, "{")] }
	families := map[string]bool{}
	for k, w := range want {
		families[family(k)] = true
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing, want %g", k, w)
			continue
		}
		if math.Abs(g-w) > tolerance(k, w) {
			t.Errorf("%s = %.12g, want %.12g", k, g, w)
		}
	}
next:
	for k, v := range got {
		for _, p := range skip {
			if strings.HasPrefix(k, p) {
				continue next
			}
		}
		if _, ok := want[k]; !ok && families[family(k)] {
			t.Errorf("%s = %g: not expected", k, v)
		}
	}
}

func loadTarget(t testing.TB, yml string) *Target {
	t.Helper()
	return loadTargetWith(t, yml, promslog.NewNopLogger())
}

// loadTargetWith is loadTarget with the ClickHouse client logging to logger.
func loadTargetWith(t testing.TB, yml string, logger *slog.Logger) *Target {
	t.Helper()
	cfg, err := config.Parse([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	client, err := chquery.Open(cfg.ClickHouse, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return NewTarget(cfg, client)
}

// debugLogger logs at debug level to w: the client's log of every query.
func debugLogger(t testing.TB, w io.Writer) *slog.Logger {
	t.Helper()
	level := promslog.NewLevel()
	if err := level.Set("debug"); err != nil {
		t.Fatal(err)
	}
	return promslog.New(&promslog.Config{Writer: w, Level: level})
}

// gather runs one scrape at scrapeNow and flattens it to "name{labels}" → value.
func gather(t testing.TB, target *Target, errs *Counters, timeout time.Duration) map[string]float64 {
	t.Helper()
	return gatherWith(t, target, errs, timeout, promslog.NewNopLogger())
}

// gatherWith is gather with the scrape logging to logger.
func gatherWith(t testing.TB, target *Target, errs *Counters, timeout time.Duration, logger *slog.Logger) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewScrape(ctx, target, errs, logger, scrapeNow))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[seriesKey(mf.GetName(), m)] = metricValue(m)
		}
	}
	return got
}

func seriesKey(name string, m *dto.Metric) string {
	var labels []string
	for _, l := range m.GetLabel() {
		labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(labels)
	return name + "{" + strings.Join(labels, ",") + "}"
}

func metricValue(m *dto.Metric) float64 {
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

// tolerance is how far a metric may be from the oracle: ROC AUC comes from a
// score histogram (docs/statistics.md: error < 0.005); everything else is exact up to
// float summation order. (Latency quantiles are exact too: ClickHouse's
// reservoir holds every value below 8192 rows, and interpolates as numpy.)
func tolerance(key string, want float64) float64 {
	if strings.HasPrefix(key, "mlmon_roc_auc") {
		return 0.005
	}
	return 1e-9 * math.Max(1, math.Abs(want))
}

func TestScrapeMatchesIndependentComputation(t *testing.T) {
	models := seed(t)
	want := runOracle(t, "testdata/oracle.py", map[string]any{"models": models})
	target := loadTarget(t, fmt.Sprintf(integrationConfig, server.Addr()))
	counters := NewCounters()
	target.Client.Observe(counters.Observe)
	got := gather(t, target, counters, 30*time.Second)
	compareToOracle(t, got, want)
	for _, k := range []string{
		`mlmon_clickhouse_up{}`,
		`mlmon_scrape_success{model="churn"}`, `mlmon_scrape_success{model="intent"}`, `mlmon_scrape_success{model="eta"}`,
		`mlmon_model_info{model="churn",task="binary_classification",version="v2"}`,
		`mlmon_model_info{model="eta",task="regression",version=""}`,
	} {
		if got[k] != 1 {
			t.Errorf("%s = %v, want 1", k, got[k])
		}
	}
	if got[`mlmon_alert_threshold{model="churn",threshold="psi_max"}`] != 0.25 {
		t.Errorf("psi_max threshold not exposed: %v", got)
	}
	// The cost counters see at least the rows the model's windows hold.
	for _, model := range []string{"churn", "intent", "eta"} {
		rows := got[fmt.Sprintf(`mlmon_clickhouse_read_rows_total{model=%q}`, model)]
		current := got[fmt.Sprintf(`mlmon_predictions{model=%q,window="current"}`, model)]
		if rows < current || current == 0 || got[fmt.Sprintf(`mlmon_clickhouse_read_bytes_total{model=%q}`, model)] < rows {
			t.Errorf("%s: read %v rows (%v bytes) for %v current predictions", model, rows,
				got[fmt.Sprintf(`mlmon_clickhouse_read_bytes_total{model=%q}`, model)], current)
		}
	}
	if v, ok := got[`mlmon_query_errors_total{model="churn",query="performance"}`]; !ok || v != 0 {
		t.Errorf("query error counter should start at 0, got %v (present %v)", v, ok)
	}
	assertDeclared(t, target.Config, got)
}

// assertDeclared checks a scrape against what the families declare: every
// series belongs to a family MetricNames lists, and every model's error
// counter starts at 0 for each query its families may run, and for no other.
func assertDeclared(t *testing.T, cfg *config.Config, got map[string]float64) {
	t.Helper()
	names := MetricNames()
	queries := map[string]bool{}
	for k := range got {
		if name := k[:strings.Index(k, "{")]; !slices.Contains(names, name) {
			t.Errorf("%s: family not declared by MetricNames", k)
		}
		if strings.HasPrefix(k, "mlmon_query_errors_total{") {
			queries[k] = true
		}
	}
	want := map[string]bool{}
	for _, m := range cfg.Models {
		for _, q := range queryNames(&m) {
			want[fmt.Sprintf(`mlmon_query_errors_total{model=%q,query=%q}`, m.Name, q)] = true
		}
	}
	for k := range want {
		if !queries[k] {
			t.Errorf("%s: declared, not exposed", k)
		}
	}
	for k := range queries {
		if !want[k] {
			t.Errorf("%s: exposed, not declared by any family", k)
		}
	}
}
