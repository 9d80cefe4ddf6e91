package collector

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// mcSegment is one segment value's current rows in the multiclass segment
// test: how many, the country they carry (nil for NULL), which share have
// a NULL score, and the law they are drawn from (mcModel's accept).
type mcSegment struct {
	value    string // as the exporter names it
	country  []*string
	n        int
	unscored float64
	accept   func(s []float64) float64
}

// TestSegmentsMulticlassEstimateMatchesScikitLearn seeds a 3-class model
// with scores: and a segment column (country, max_values 3: US, BR, DE in
// the reference) and compares every per-segment label-free estimate of a
// scrape with scikit-learn's computation from the raw rows (the
// calibrations fitted on the whole reference, applied to the segment
// value's current rows): within 0.01, though the exporter sees the
// segment's scores rounded to 1/50. BR's current rows crowd toward low
// confidence, so its estimate falls below US's; DE has enough rows but
// fewer than min_samples scored ones, so it has no estimate; __other__
// (an unseen country and NULL) has one.
func TestSegmentsMulticlassEstimateMatchesScikitLearn(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS mcs_preds (ts DateTime, request_id String, prediction String, country Nullable(String), p_a Float64, p_b Float64, p_c Nullable(Float64)) ENGINE = MergeTree ORDER BY ts",
		"CREATE TABLE IF NOT EXISTS mcs_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
	); err != nil {
		t.Fatal(err)
	}
	preds, err := server.Conn().PrepareBatch(ctx, "INSERT INTO mcs_preds (ts, request_id, prediction, country, p_a, p_b, p_c)")
	if err != nil {
		t.Fatal(err)
	}
	labels, err := server.Conn().PrepareBatch(ctx, "INSERT INTO mcs_labels (request_id, label, ts)")
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	rng := rand.New(rand.NewPCG(19, 4))
	refStart, curStart := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), scrapeNow.Add(-time.Hour)
	const nRef = 20000
	var ref [][]float64
	refCountries := []*string{str("US"), str("US"), str("US"), str("US"), str("US"), str("BR"), str("BR"), str("BR"), str("DE"), str("DE")}
	for i := range nRef {
		y, s := mcRow(rng)
		ts := refStart.Add(time.Duration(i) * 6 * time.Hour / nRef)
		id := fmt.Sprintf("ref-%d", i)
		if err := preds.Append(ts, id, mcClasses[argmax(s)], refCountries[i%len(refCountries)], s[0], s[1], &s[2]); err != nil {
			t.Fatal(err)
		}
		if err := labels.Append(id, mcClasses[y], ts.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		ref = append(ref, append([]float64{float64(y)}, s...))
	}
	same := func([]float64) float64 { return 1 }
	segments := []mcSegment{
		{value: "US", country: []*string{str("US")}, n: 2000, accept: same},
		// Current rows crowd toward uncertain scores (mcModels' mc_shift).
		{value: "BR", country: []*string{str("BR")}, n: 1000, accept: mcModels[1].accept},
		// 150 rows, about 60 of them without a score: under min_samples.
		{value: "DE", country: []*string{str("DE")}, n: 150, unscored: 0.4, accept: same},
		{value: "__other__", country: []*string{str("FR"), nil}, n: 400, unscored: 0.1, accept: same},
	}
	var cur []map[string]any
	var curRows int
	for _, sg := range segments {
		for i := 0; i < sg.n; {
			y, s := mcRow(rng)
			if rng.Float64() >= sg.accept(s) {
				continue
			}
			scored := rng.Float64() >= sg.unscored
			pc := &s[2]
			if !scored {
				pc = nil
			}
			id := fmt.Sprintf("cur-%s-%d", sg.value, i)
			ts := curStart.Add(time.Duration(curRows%3600) * time.Second)
			if err := preds.Append(ts, id, mcClasses[argmax(s)], sg.country[i%len(sg.country)], s[0], s[1], pc); err != nil {
				t.Fatal(err)
			}
			cur = append(cur, map[string]any{"value": sg.value, "label": y, "s": s, "scored": scored})
			i++
			curRows++
		}
	}
	if err := preds.Send(); err != nil {
		t.Fatal(err)
	}
	if err := labels.Send(); err != nil {
		t.Fatal(err)
	}
	want := runOracle(t, "testdata/segments_multiclass_oracle.py", map[string]any{"model": "mcs", "segment": "country",
		"classes": mcClasses, "min_samples": 100, "ref": ref, "cur": cur})

	yml := fmt.Sprintf(estimateConfig, server.Addr()) + `  - name: mcs
    task: multiclass_classification
    predictions: {table: mcs_preds, timestamp: ts, id: request_id, prediction: prediction}
    scores: {c: p_c, a: p_a, b: p_b}
    ground_truth: {table: mcs_labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 1h, delay: 0s}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
    segments: [{column: country, max_values: 3}]
`
	target := loadTarget(t, yml)
	key := func(family, value string) string {
		avg := ""
		if strings.Contains(family, "f1") {
			avg = `average="macro",`
		}
		return family + `{` + avg + `model="mcs",segment="country",segment_value="` + value + `"}`
	}
	got := gatherSettled(t, target, key("mlmon_segment_estimated_accuracy_ratio", "US"))
	if got[`mlmon_scrape_success{model="mcs"}`] != 1 {
		t.Fatalf("scrape failed: %v", got)
	}
	perFamily := map[string]int{}
	for k, w := range want {
		perFamily[k[:strings.Index(k, "{")]]++
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: missing, want %.4f", k, w)
		case math.Abs(g-w) > 0.01:
			t.Errorf("%s = %.4f, scikit-learn %.4f", k, g, w)
		default:
			t.Logf("%s = %.4f, scikit-learn %.4f", k, g, w)
		}
	}
	for k, v := range got {
		if strings.HasPrefix(k, "mlmon_segment_estimated_") {
			if _, ok := want[k]; !ok {
				t.Errorf("%s = %g: a series the oracle does not have", k, v)
			}
		}
	}
	for _, f := range []string{"mlmon_segment_estimated_accuracy_ratio", "mlmon_segment_estimated_f1_score"} {
		if perFamily[f] != 3 {
			t.Errorf("the oracle computed %d %s series, want 3 (US, BR, __other__: DE has too few scored rows)", perFamily[f], f)
		}
	}
	if n := got[`mlmon_segment_predictions{model="mcs",segment="country",segment_value="DE",window="current"}`]; n < 100 {
		t.Errorf("DE has %g current rows: the test wants min_samples rows of which fewer are scored", n)
	}
	us, br := got[key("mlmon_segment_estimated_accuracy_ratio", "US")], got[key("mlmon_segment_estimated_accuracy_ratio", "BR")]
	t.Logf("estimated accuracy: US %.4f, BR %.4f (crowded toward low confidence), whole model %.4f", us, br, got[`mlmon_estimated_accuracy_ratio{model="mcs"}`])
	if us-br < 0.05 {
		t.Errorf("BR's estimate %.4f is not well below US's %.4f", br, us)
	}
	// The whole model's series do not change with the segments' class
	// score keys in its drift pass: the same scrape without segments has
	// the same values.
	plain := strings.Replace(yml, "    segments: [{column: country, max_values: 3}]\n", "", 1)
	if plain == yml {
		t.Fatal("the config without segments still has segments")
	}
	without := gather(t, loadTarget(t, plain), NewCounters(), 60*time.Second)
	if _, ok := without[`mlmon_estimated_accuracy_ratio{model="mcs"}`]; !ok {
		t.Fatal("the scrape without segments has no estimate: the comparison would prove little")
	}
	for k, w := range without {
		// What the queries cost differs (the segment column is read).
		if strings.Contains(k, "duration_seconds") || strings.HasPrefix(k, "mlmon_clickhouse_read_") ||
			strings.HasPrefix(k, "mlmon_clickhouse_query_seconds") || strings.HasPrefix(k, "mlmon_query_errors_total") {
			continue
		}
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-12*math.Max(1, math.Abs(w)) {
			t.Errorf("%s: %v with segments, %v without", k, g, w)
		}
	}
}
