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

// mcClasses are the classes of the multiclass estimate test, in the order
// of their score columns p_a, p_b, p_c.
var mcClasses = []string{"a", "b", "c"}

// mcModel is one multiclass model of the estimate test: accept gives the
// probability that a current row drawn from the reference's law is kept,
// from its scores alone, so P(label | scores) is the reference's (pure
// covariate shift) and only the mix of rows changes.
type mcModel struct {
	name   string
	accept func(s []float64) float64
}

var mcModels = []mcModel{
	{name: "mc_same", accept: func([]float64) float64 { return 1 }},
	// Current rows crowd toward uncertain scores: the model's confidence
	// (its top score) is low, and its accuracy falls.
	{name: "mc_shift", accept: func(s []float64) float64 {
		return math.Pow((1-max(s[0], s[1], s[2]))/(2./3), 3)
	}},
}

// mcRow draws one row of the reference's law: a label uniform over the
// classes, logits N(0, 1) with 1.5 more for the label's, and scores the
// softmax of half the logits (under-confident: the label's posterior is the
// softmax of the whole logits).
func mcRow(rng *rand.Rand) (label int, s []float64) {
	label = rng.IntN(len(mcClasses))
	s = make([]float64, len(mcClasses))
	var sum float64
	for k := range s {
		z := rng.NormFloat64()
		if k == label {
			z += 1.5
		}
		s[k] = math.Exp(z / 2)
		sum += s[k]
	}
	for k := range s {
		s[k] /= sum
	}
	return label, s
}

func argmax(s []float64) int {
	best := 0
	for k := range s {
		if s[k] > s[best] {
			best = k
		}
	}
	return best
}

// seedMulticlassEstimate writes each model's reference (30000 labelled rows
// on 2026-05-01) and current window (8000 rows in the hour before
// scrapeNow, labelled too, for the realised values), and returns the rows
// the oracle reads.
func seedMulticlassEstimate(t *testing.T) []map[string]any {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS mc_preds (ts DateTime, request_id String, model String, prediction String, p_a Float64, p_b Float64, p_c Nullable(Float64)) ENGINE = MergeTree ORDER BY (model, ts)",
		"CREATE TABLE IF NOT EXISTS mc_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
	); err != nil {
		t.Fatal(err)
	}
	preds, err := server.Conn().PrepareBatch(ctx, "INSERT INTO mc_preds (ts, request_id, model, prediction, p_a, p_b, p_c)")
	if err != nil {
		t.Fatal(err)
	}
	labels, err := server.Conn().PrepareBatch(ctx, "INSERT INTO mc_labels (request_id, label, ts)")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(18, 3))
	refStart := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	curStart := scrapeNow.Add(-time.Hour)
	const nRef, nCur = 30000, 8000
	var oracle []map[string]any
	for _, m := range mcModels {
		var ref, cur [][]float64
		row := func(window string, i, n int, start time.Time, span time.Duration, y int, s []float64) {
			id := fmt.Sprintf("%s-%s-%d", m.name, window, i)
			ts := start.Add(time.Duration(i) * span / time.Duration(n))
			if err := preds.Append(ts, id, m.name, mcClasses[argmax(s)], s[0], s[1], &s[2]); err != nil {
				t.Fatal(err)
			}
			if err := labels.Append(id, mcClasses[y], ts.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range nRef {
			y, s := mcRow(rng)
			row("ref", i, nRef, refStart, 6*time.Hour, y, s)
			ref = append(ref, append([]float64{float64(y)}, s...))
		}
		for i := 0; i < nCur; {
			y, s := mcRow(rng)
			if rng.Float64() >= m.accept(s) {
				continue
			}
			row("cur", i, nCur, curStart, time.Hour, y, s)
			cur = append(cur, append([]float64{float64(y)}, s...))
			i++
		}
		oracle = append(oracle, map[string]any{"name": m.name, "ref": ref, "cur": cur})
	}
	if err := preds.Send(); err != nil {
		t.Fatal(err)
	}
	if err := labels.Send(); err != nil {
		t.Fatal(err)
	}
	return oracle
}

// TestMulticlassEstimateMatchesScikitLearn seeds two multiclass models with
// scores: into ClickHouse and compares every label-free estimate of one
// scrape, and the realised one-vs-rest macro ROC AUC of both windows, with
// scikit-learn's computation from the raw rows: estimates within 0.01, the
// AUC within 0.005, though the exporter sees only 1000-bucket histograms.
// Under the covariate shift the estimate falls (by more than 0.05) with the realised accuracy
// and meets it within 0.02.
func TestMulticlassEstimateMatchesScikitLearn(t *testing.T) {
	rows := seedMulticlassEstimate(t)
	want := runOracle(t, "testdata/estimate_multiclass_oracle.py", map[string]any{"classes": mcClasses, "models": rows})
	yml := fmt.Sprintf(estimateConfig, server.Addr())
	for _, m := range mcModels {
		yml += fmt.Sprintf(`  - name: %s
    task: multiclass_classification
    predictions: {table: mc_preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction}
    scores: {c: p_c, a: p_a, b: p_b}
    ground_truth: {table: mc_labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 1h, delay: 0s}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
`, m.name)
	}
	got := gather(t, loadTarget(t, yml), NewCounters(), 60*time.Second)

	families := map[string]bool{}
	for k, w := range want {
		family := k[:strings.Index(k, "{")]
		if family == "realised" {
			continue
		}
		families[family] = true
		tol := 0.01
		switch family {
		case "mlmon_calibration_samples":
			tol = 0
		case "mlmon_roc_auc":
			tol = 0.005
		}
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: missing, want %.4f", k, w)
		case math.Abs(g-w) > tol:
			t.Errorf("%s = %.4f, scikit-learn %.4f", k, g, w)
		}
	}
	for k, v := range got {
		if families[k[:strings.Index(k, "{")]] {
			if _, ok := want[k]; !ok {
				t.Errorf("%s = %g: a series the oracle does not have", k, v)
			}
		}
	}

	for _, m := range mcModels {
		sel := `{model="` + m.name + `"}`
		est := got["mlmon_estimated_accuracy_ratio"+sel]
		realised := got[`mlmon_accuracy_ratio{model="`+m.name+`",window="current"}`]
		reference := got[`mlmon_accuracy_ratio{model="`+m.name+`",window="reference"}`]
		if math.Abs(realised-want["realised"+sel]) > 1e-9 {
			t.Fatalf("%s: realised accuracy %g, oracle %g", m.name, realised, want["realised"+sel])
		}
		t.Logf("%s: reference accuracy %.4f, estimated %.4f, realised %.4f; estimated ROC AUC %.4f, realised %.4f; calibration error raw %.4f, calibrated %.4f",
			m.name, reference, est, realised, got["mlmon_estimated_roc_auc"+sel], got[`mlmon_roc_auc{model="`+m.name+`",window="current"}`],
			got[`mlmon_calibration_error{model="`+m.name+`",stage="raw"}`], got[`mlmon_calibration_error{model="`+m.name+`",stage="calibrated"}`])
		if math.Abs(est-realised) > 0.02 {
			t.Errorf("%s: estimate %.4f, realised %.4f: want within 0.02", m.name, est, realised)
		}
		if m.name == "mc_shift" && reference-est < 0.05 {
			t.Errorf("%s: estimate %.4f against reference %.4f: want a fall of 0.05", m.name, est, reference)
		}
	}
}
