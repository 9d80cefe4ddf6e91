package collector

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
)

const historyConfig = `
clickhouse: {addr: [%q]}
defaults: {window: 30m, bins: 4, min_samples: 10}
models:
  - name: hist
    task: multiclass_classification
    predictions: {table: history_preds, timestamp: ts, id: request_id, prediction: prediction}
    features:
      - {name: x, type: numeric}
    reference: {offset: 30m}
`

// gatherAt runs one scrape of target with its clock at at.
func gatherAt(t *testing.T, target *Target, at time.Time) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewScrape(ctx, target, NewCounters(), promslog.NewNopLogger(), at))
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

// A history target computes a rolling reference for each scrape's own
// window, even when scrapes come out of order: each equals a fresh target's
// scrape at that time. (A live target, keyed by model and refreshed by age,
// fails this: it serves the first window's reference to the later scrapes.)
func TestHistoryTargetRollingReference(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx, `CREATE TABLE IF NOT EXISTS history_preds (ts DateTime, request_id String, prediction String, x Float64)
		ENGINE = MergeTree ORDER BY ts`, `TRUNCATE TABLE history_preds`); err != nil {
		t.Fatal(err)
	}
	// One row every 10 s over the two hours before scrapeNow, x growing
	// with time, so that each window's reference differs.
	batch, err := server.Conn().PrepareBatch(ctx, "INSERT INTO history_preds (ts, request_id, prediction, x)")
	if err != nil {
		t.Fatal(err)
	}
	start := scrapeNow.Add(-2 * time.Hour)
	for i := range 720 {
		ts := start.Add(time.Duration(i) * 10 * time.Second)
		if err := batch.Append(ts, fmt.Sprintf("h-%d", i), "a", float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}

	yml := fmt.Sprintf(historyConfig, server.Addr())
	history := loadTarget(t, yml)
	history.References.history = true
	defer history.References.Close()

	const key = `mlmon_feature_psi{feature="x",model="hist"}`
	const refRows = `mlmon_predictions{model="hist",window="reference"}`
	// Out of order, as parallel steps finish.
	times := []time.Time{scrapeNow, scrapeNow.Add(-30 * time.Minute), scrapeNow.Add(-10 * time.Minute)}
	for _, at := range times {
		fresh := loadTarget(t, yml)
		want := gatherAt(t, fresh, at)
		fresh.References.Close()
		got := gatherAt(t, history, at)
		if _, ok := want[key]; !ok {
			t.Fatalf("a fresh scrape at %s has no PSI: %v", at, want)
		}
		for _, k := range []string{key, refRows} {
			if got[k] != want[k] {
				t.Errorf("history target at %s: %s = %v, a fresh target's scrape gives %v", at.Format(time.RFC3339), k, got[k], want[k])
			}
		}
	}
	var keys []string
	for k := range history.References.stats.entries {
		keys = append(keys, k)
	}
	if len(keys) != len(times) {
		t.Errorf("history reference cache entries %v: want one per scrape window", slices.Sorted(slices.Values(keys)))
	}

}
