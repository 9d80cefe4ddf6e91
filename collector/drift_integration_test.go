package collector

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const driftSchema = `CREATE TABLE IF NOT EXISTS drift_preds (ts DateTime, request_id String, model String, prediction String,
  x_shift Float64, x_stable Int32, x_nulls Nullable(Float64), x_sparse Nullable(Float64),
  cat_new String, cat_nullable Nullable(String)) ENGINE = MergeTree ORDER BY (model, ts)`

const driftConfig = `
clickhouse: {addr: [%q]}
defaults: {window: 1h, bins: 8, max_categories: 3, min_samples: 100}
models:
  - name: fraud
    task: multiclass_classification
    predictions: {table: drift_preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction}
    features:
      - {name: x_shift, type: numeric}
      - {name: x_stable, type: numeric}
      - {name: x_nulls, type: numeric}
      - {name: x_sparse, type: numeric}
      - {name: cat_new, type: categorical}
      - {name: cat_nullable, type: categorical}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-02T00:00:00Z}
`

// seedDrift writes a reference day and a current hour with known shifts: a
// mean shift in x_shift, more NULLs (and a NaN) in x_nulls, too few values
// in x_sparse, and a category in cat_new that the reference never saw.
func seedDrift(t *testing.T) (rows []map[string]any, ref, cur [2]int64) {
	ctx := context.Background()
	if err := server.Exec(ctx, driftSchema); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 5))
	refFrom := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	ref = [2]int64{refFrom.Unix(), refFrom.Add(24 * time.Hour).Unix()}
	cur = [2]int64{scrapeNow.Add(-time.Hour).Unix(), scrapeNow.Unix()}
	cats := []string{"a", "a", "a", "b", "b", "c", "d", "e"}
	row := func(ts int64, current bool) map[string]any {
		shift, nullP, sparseP, newCat := 0.0, 0.05, 0.0, false
		if current {
			shift, nullP, sparseP, newCat = 0.8, 0.3, 0.97, rng.Float64() < 0.4
		}
		r := map[string]any{"ts": ts, "request_id": fmt.Sprintf("d-%d-%d", ts, rng.IntN(1e9)),
			"prediction": []string{"no", "yes", "maybe"}[min(rng.IntN(10)/4, 2)],
			"x_shift":    10 + 2*rng.NormFloat64() + 2*shift,
			"x_stable":   rng.IntN(5), // few distinct values: duplicate quantile edges
			"cat_new":    cats[rng.IntN(len(cats))],
		}
		if current && r["prediction"] == "no" && rng.Float64() < 0.5 {
			r["prediction"] = "yes"
		}
		if newCat {
			r["cat_new"] = "brand_new"
		}
		if rng.Float64() >= nullP {
			r["x_nulls"] = math.Round(rng.ExpFloat64()*1000) / 100
		}
		if rng.Float64() >= sparseP {
			r["x_sparse"] = rng.NormFloat64()
		}
		if rng.Float64() >= 0.1 {
			r["cat_nullable"] = []string{"x", "y"}[rng.IntN(2)]
		}
		return r
	}
	for range 3000 {
		rows = append(rows, row(ref[0]+rng.Int64N(ref[1]-ref[0]), false))
	}
	for range 2000 {
		rows = append(rows, row(cur[0]+rng.Int64N(cur[1]-cur[0]), true))
	}
	// Outside both windows: must not count.
	for range 300 {
		rows = append(rows, row(cur[0]-1-rng.Int64N(3600), true))
	}
	// A NaN is missing, like NULL (the oracle sees it as null too).
	nanRow := row(cur[0]+5, true)
	nanRow["x_nulls"] = math.NaN()

	b, err := server.Conn().PrepareBatch(ctx, "INSERT INTO drift_preds (ts, request_id, model, prediction, x_shift, x_stable, x_nulls, x_sparse, cat_new, cat_nullable)")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(rows, nanRow) {
		if err := b.Append(time.Unix(r["ts"].(int64), 0), r["request_id"], "fraud", r["prediction"], r["x_shift"],
			int32(r["x_stable"].(int)), optFloat(r["x_nulls"]), optFloat(r["x_sparse"]), r["cat_new"], optString(r["cat_nullable"])); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	delete(nanRow, "x_nulls")
	return append(rows, nanRow), ref, cur
}

func optFloat(v any) *float64 {
	if v == nil {
		return nil
	}
	f := v.(float64)
	return &f
}

func optString(v any) *string {
	if v == nil {
		return nil
	}
	s := v.(string)
	return &s
}

func TestDriftMatchesIndependentComputation(t *testing.T) {
	rows, ref, cur := seedDrift(t)
	want := runOracle(t, "testdata/drift_oracle.py", map[string]any{"model": "fraud", "bins": 8, "max_categories": 3, "min_samples": 100,
		"rows": rows, "reference": ref, "current": cur,
		"features": []map[string]string{{"name": "x_shift", "type": "numeric"}, {"name": "x_stable", "type": "numeric"},
			{"name": "x_nulls", "type": "numeric"}, {"name": "x_sparse", "type": "numeric"},
			{"name": "cat_new", "type": "categorical"}, {"name": "cat_nullable", "type": "categorical"}}})
	target := loadTarget(t, fmt.Sprintf(driftConfig, server.Addr()))
	got := gather(t, target, NewCounters(), 30*time.Second)
	if got[`mlmon_scrape_success{model="fraud"}`] != 1 {
		t.Fatalf("scrape failed: %v", got)
	}
	// The current count is the operations concern's, tested elsewhere.
	compareToOracle(t, got, want, `mlmon_predictions{`)
	// The known shifts must read as drift, the stable features must not.
	for _, f := range []string{"x_shift", "cat_new"} {
		k := fmt.Sprintf(`mlmon_feature_psi{feature=%q,model="fraud"}`, f)
		crit := fmt.Sprintf(`mlmon_feature_psi_critical_value{feature=%q,model="fraud"}`, f)
		if got[k] < 0.2 || got[k] < got[crit] {
			t.Errorf("%s = %g (critical %g): the seeded shift should exceed 0.2 and the critical value", f, got[k], got[crit])
		}
	}
	if p := got[`mlmon_feature_psi{feature="cat_nullable",model="fraud"}`]; p > 0.05 {
		t.Errorf("cat_nullable PSI %g: no shift was seeded", p)
	}
	if _, ok := got[`mlmon_feature_psi{feature="x_sparse",model="fraud"}`]; ok {
		t.Error("x_sparse has fewer than min_samples current values: its drift must not be emitted")
	}
}

// A second scrape reuses the cached reference: the reference query runs once
// per configuration for a fixed range.
func TestReferenceIsCached(t *testing.T) {
	target := loadTarget(t, fmt.Sprintf(driftConfig, server.Addr()))
	first := gather(t, target, NewCounters(), 30*time.Second)
	computed := target.References.stats.entries["fraud"].computed
	second := gather(t, target, NewCounters(), 30*time.Second)
	if target.References.stats.entries["fraud"].computed != computed {
		t.Error("fixed reference recomputed on the second scrape")
	}
	k := `mlmon_feature_psi{feature="x_shift",model="fraud"}`
	if first[k] != second[k] || first[k] == 0 {
		t.Errorf("PSI changed between scrapes of the same data: %v vs %v", first[k], second[k])
	}
}
