package collector

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// Bad input data: every value below is generated in ClickHouse by a formula
// of the row number n, and the expected metrics are computed here from the
// same formula, row by row (pairwise for ROC AUC) — a second method, not the
// exporter's histogram and sums.

// badValue is the pattern of non-finite and missing values every bad column
// follows: n%10 = 0 NaN, 1 +Inf, 2 −Inf, 3 NULL, otherwise the column's own
// value.
func badValue(expr string) string {
	return fmt.Sprintf("multiIf(number %% 10 = 0, toNullable(nan), number %% 10 = 1, toNullable(inf), "+
		"number %% 10 = 2, toNullable(-inf), number %% 10 = 3, CAST(NULL AS Nullable(Float64)), toNullable(toFloat64(%s)))", expr)
}

func finiteRow(n int) bool { return n%10 >= 4 }

// The binary model "nf" has NaN, ±Inf and NULL in its score, latency and
// numeric feature, NULL in its error flag, categorical feature and labels.
// Non-finite and NULL values are missing: they are never binned, averaged or
// counted as a class, and no series carries a NaN or an infinity.
func TestNonFiniteAndNullValues(t *testing.T) {
	ctx := context.Background()
	cur := scrapeNow.Unix() - 3500
	ref := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Unix()
	const rows = 1000
	preds := func(from int64, prefix string) string {
		return fmt.Sprintf(`INSERT INTO rb_preds SELECT toDateTime(%d + number), concat('%s', toString(number)), 'nf',
			if(number %% 2 = 1, '1', '0'), %s, %s,
			if(number %% 10 = 3, CAST(NULL AS Nullable(UInt8)), toNullable(toUInt8(number %% 50 = 7))), %s,
			if(number %% 10 = 3, CAST(NULL AS Nullable(String)), toNullable(concat('c', toString(number %% 3)))) FROM numbers(%d)`,
			from, prefix, badValue("(number % 100) / 100"), badValue("10"), badValue("number % 7"), rows)
	}
	if err := server.Exec(ctx, "DROP TABLE IF EXISTS rb_preds", "DROP TABLE IF EXISTS rb_labels",
		`CREATE TABLE rb_preds (ts DateTime, request_id String, model String, prediction Nullable(String),
		  score Nullable(Float64), latency_ms Nullable(Float64), is_error Nullable(UInt8), num Nullable(Float64), cat Nullable(String))
		  ENGINE = MergeTree ORDER BY (model, ts)`,
		`CREATE TABLE rb_labels (request_id String, label Nullable(String), ts DateTime) ENGINE = MergeTree ORDER BY request_id`,
		preds(cur, "c-"), preds(ref, "r-"),
		// n%20 = 5: the label row exists but its value is NULL.
		fmt.Sprintf(`INSERT INTO rb_labels SELECT concat(p, toString(number)),
			if(number %% 20 = 5, CAST(NULL AS Nullable(String)), toNullable(if(number %% 4 < 2, '1', '0'))), toDateTime(%d + number + 60)
			FROM numbers(%d) ARRAY JOIN ['c-', 'r-'] AS p`, cur, rows),
	); err != nil {
		t.Fatal(err)
	}
	target := loadTarget(t, fmt.Sprintf(`
clickhouse: {addr: [%q]}
models:
  - name: nf
    task: binary_classification
    positive_class: "1"
    predictions: {table: rb_preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction,
                  score: score, latency: latency_ms, error: is_error}
    ground_truth: {table: rb_labels, id: request_id, label: label, timestamp: ts}
    features: [{name: num, type: numeric}, {name: cat, type: categorical}]
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-02T00:00:00Z}
`, server.Addr()))
	got := gather(t, target, NewCounters(), 20*time.Second)
	assertAllFinite(t, got)

	// The same rows, computed here.
	label := func(n int) (string, bool) {
		if n%20 == 5 {
			return "", false
		}
		return map[bool]string{true: "1", false: "0"}[n%4 < 2], true
	}
	pred := func(n int) string { return map[bool]string{true: "1", false: "0"}[n%2 == 1] }
	var labeled, correct float64
	var pos, neg []float64 // finite scores of labeled rows
	var logLoss, brier float64
	for n := range rows {
		y, ok := label(n)
		if !ok {
			continue
		}
		labeled++
		if pred(n) == y {
			correct++
		}
		if !finiteRow(n) {
			continue
		}
		s := float64(n%100) / 100
		yv := 0.0
		if y == "1" {
			yv = 1
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
		pc := min(max(s, 1e-15), 1-1e-15)
		logLoss += -(yv*math.Log(pc) + (1-yv)*math.Log(1-pc))
		brier += (s - yv) * (s - yv)
	}
	var wins float64
	for _, p := range pos {
		for _, q := range neg {
			switch {
			case p > q:
				wins++
			case p == q:
				wins += 0.5
			}
		}
	}
	scored := float64(len(pos) + len(neg))
	k := func(metric, labels string) string { return metric + `{` + labels + `}` }
	want := map[string]float64{
		k("mlmon_scrape_success", `model="nf"`):                                         1,
		k("mlmon_clickhouse_up", ``):                                                    1,
		k("mlmon_model_info", `model="nf",task="binary_classification",version=""`):     1,
		k("mlmon_sample_ratio", `model="nf"`):                                           1,
		k("mlmon_query_errors_total", `model="nf",query="drift"`):                       0,
		k("mlmon_query_errors_total", `model="nf",query="operations"`):                  0,
		k("mlmon_query_errors_total", `model="nf",query="performance"`):                 0,
		k("mlmon_query_errors_total", `model="nf",query="performance_reference"`):       0,
		k("mlmon_query_errors_total", `model="nf",query="reference"`):                   0,
		k("mlmon_labeled_predictions", `model="nf"`):                                    labeled,
		k("mlmon_predictions", `model="nf",window="current"`):                           rows,
		k("mlmon_predictions", `model="nf",window="reference"`):                         rows,
		k("mlmon_prediction_rate", `model="nf"`):                                        rows / 3600.0,
		k("mlmon_prediction_error_ratio", `model="nf"`):                                 20.0 / rows, // n%50 = 7; a NULL flag is no error
		k("mlmon_prediction_latency_seconds", `model="nf",quantile="0.5"`):              0.01,
		k("mlmon_prediction_latency_seconds", `model="nf",quantile="0.95"`):             0.01,
		k("mlmon_prediction_latency_seconds", `model="nf",quantile="0.99"`):             0.01,
		k("mlmon_accuracy_ratio", `model="nf",window="current"`):                        correct / labeled,
		k("mlmon_accuracy_ratio", `model="nf",window="reference"`):                      correct / labeled,
		k("mlmon_label_coverage_ratio", `model="nf"`):                                   labeled / rows,
		k("mlmon_class_precision_ratio", `class="1",model="nf"`):                        200.0 / 450,
		k("mlmon_class_recall_ratio", `class="1",model="nf"`):                           200.0 / 450,
		k("mlmon_confusion_matrix", `actual="0",model="nf",predicted="0"`):              250,
		k("mlmon_confusion_matrix", `actual="0",model="nf",predicted="1"`):              250,
		k("mlmon_confusion_matrix", `actual="1",model="nf",predicted="0"`):              250,
		k("mlmon_confusion_matrix", `actual="1",model="nf",predicted="1"`):              200,
		k("mlmon_roc_auc", `model="nf",window="current"`):                               wins / float64(len(pos)*len(neg)),
		k("mlmon_roc_auc", `model="nf",window="reference"`):                             wins / float64(len(pos)*len(neg)),
		k("mlmon_log_loss", `model="nf",window="current"`):                              logLoss / scored,
		k("mlmon_log_loss", `model="nf",window="reference"`):                            logLoss / scored,
		k("mlmon_brier_score", `model="nf",window="current"`):                           brier / scored,
		k("mlmon_brier_score", `model="nf",window="reference"`):                         brier / scored,
		k("mlmon_feature_samples", `feature="cat",model="nf",window="current"`):         900,
		k("mlmon_feature_samples", `feature="cat",model="nf",window="reference"`):       900,
		k("mlmon_feature_samples", `feature="num",model="nf",window="current"`):         600,
		k("mlmon_feature_samples", `feature="num",model="nf",window="reference"`):       600,
		k("mlmon_feature_missing_ratio", `feature="cat",model="nf",window="current"`):   0.1,
		k("mlmon_feature_missing_ratio", `feature="cat",model="nf",window="reference"`): 0.1,
		k("mlmon_feature_missing_ratio", `feature="num",model="nf",window="current"`):   0.4,
		k("mlmon_feature_missing_ratio", `feature="num",model="nf",window="reference"`): 0.4,
		k("mlmon_feature_out_of_range_ratio", `feature="num",model="nf"`):               0,
		k("mlmon_feature_unseen_category_ratio", `feature="cat",model="nf"`):            0,
		k("mlmon_feature_psi", `feature="cat",model="nf"`):                              0,
		k("mlmon_feature_psi", `feature="num",model="nf"`):                              0,
		k("mlmon_feature_js_divergence", `feature="cat",model="nf"`):                    0,
		k("mlmon_feature_js_divergence", `feature="num",model="nf"`):                    0,
		k("mlmon_feature_ks_statistic", `feature="num",model="nf"`):                     0,
		k("mlmon_feature_wasserstein", `feature="num",model="nf"`):                      0,
		k("mlmon_feature_chi2_p_value", `feature="cat",model="nf"`):                     1,
		k("mlmon_feature_chi2_p_value", `feature="num",model="nf"`):                     1,
		k("mlmon_prediction_psi", `model="nf"`):                                         0, // the score's finite values
		k("mlmon_prediction_js_divergence", `model="nf"`):                               0,
	}
	for key, w := range want {
		g, ok := got[key]
		switch {
		case !ok:
			t.Errorf("%s missing, want %g", key, w)
		case math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)):
			t.Errorf("%s = %.12g, want %.12g", key, g, w)
		}
	}
	// A NULL label is no label: it is neither a class nor a negative.
	for key := range got {
		if strings.Contains(key, `class=""`) || strings.Contains(key, `actual=""`) || strings.Contains(key, `predicted=""`) {
			t.Errorf("%s = %g: a NULL label became the class \"\"", key, got[key])
		}
	}
}

// A regression model whose predictions and labels hold NaN, ±Inf and NULL:
// the error metrics use the rows where both are finite, exactly.
func TestNonFiniteRegression(t *testing.T) {
	ctx := context.Background()
	cur := scrapeNow.Unix() - 3500
	if err := server.Exec(ctx, "DROP TABLE IF EXISTS rb_reg", "DROP TABLE IF EXISTS rb_reg_labels",
		`CREATE TABLE rb_reg (ts DateTime, request_id String, prediction Nullable(Float64), latency_ms Nullable(Float64)) ENGINE = MergeTree ORDER BY ts`,
		`CREATE TABLE rb_reg_labels (request_id String, label Nullable(Float64), ts DateTime) ENGINE = MergeTree ORDER BY request_id`,
		// Predictions follow the bad pattern on n%10; labels on (n/10)%10,
		// so every combination of bad and good occurs.
		fmt.Sprintf(`INSERT INTO rb_reg SELECT toDateTime(%d + number), toString(number), %s, %s FROM numbers(1000)`,
			cur, badValue("number % 13 + 2"), badValue("5")),
		fmt.Sprintf(`INSERT INTO rb_reg_labels SELECT toString(number), %s, toDateTime(%d + number + 60) FROM numbers(1000)`,
			strings.ReplaceAll(badValue("number % 13"), "number % 10", "intDiv(number, 10) % 10"), cur),
	); err != nil {
		t.Fatal(err)
	}
	target := loadTarget(t, fmt.Sprintf(`
clickhouse: {addr: [%q]}
models:
  - name: reg
    task: regression
    predictions: {table: rb_reg, timestamp: ts, id: request_id, prediction: prediction, latency: latency_ms}
    ground_truth: {table: rb_reg_labels, id: request_id, label: label, timestamp: ts}
`, server.Addr()))
	got := gather(t, target, NewCounters(), 20*time.Second)
	assertAllFinite(t, got)
	var n, sumAbs, sumSq, sumPct, nNonZero, labeled float64
	var ys []float64
	for i := range 1000 {
		if finiteRow(i / 10) {
			labeled++
		}
		if !finiteRow(i) || !finiteRow(i/10) {
			continue
		}
		p, y := float64(i%13+2), float64(i%13)
		n++
		sumAbs += math.Abs(p - y)
		sumSq += (p - y) * (p - y)
		if y != 0 {
			sumPct += math.Abs((p - y) / y)
			nNonZero++
		}
		ys = append(ys, y)
	}
	var mean, ss float64
	for _, y := range ys {
		mean += y / n
	}
	for _, y := range ys {
		ss += (y - mean) * (y - mean)
	}
	for key, w := range map[string]float64{
		`mlmon_scrape_success{model="reg"}`:                            1,
		`mlmon_labeled_predictions{model="reg"}`:                       labeled, // a NULL, NaN or ±Inf label is no label, as for features
		`mlmon_mae{model="reg",window="current"}`:                      sumAbs / n,
		`mlmon_rmse{model="reg",window="current"}`:                     math.Sqrt(sumSq / n),
		`mlmon_mape_ratio{model="reg",window="current"}`:               sumPct / nNonZero,
		`mlmon_r2{model="reg",window="current"}`:                       1 - sumSq/ss,
		`mlmon_prediction_latency_seconds{model="reg",quantile="0.5"}`: 0.005,
	} {
		g, ok := got[key]
		switch {
		case !ok:
			t.Errorf("%s missing, want %g", key, w)
		case math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)):
			t.Errorf("%s = %.12g, want %.12g", key, g, w)
		}
	}
}

// assertAllFinite: a NaN or an infinity must never pose as a value.
func assertAllFinite(t *testing.T, got map[string]float64) {
	t.Helper()
	for key, v := range got {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s = %g", key, v)
		}
	}
}

// Edge cases of the data, each a model of its own: which series a scrape
// yields, exactly.
func TestEmptyAndDegenerateWindows(t *testing.T) {
	ctx := context.Background()
	cur := scrapeNow.Unix() - 3500
	if err := server.Exec(ctx, "DROP TABLE IF EXISTS rb_edge", "DROP TABLE IF EXISTS rb_edge_labels",
		`CREATE TABLE rb_edge (ts DateTime, request_id String, model String, prediction String, score Float64,
		  latency_ms Float64, is_error UInt8, num Float64, cat String) ENGINE = MergeTree ORDER BY (model, ts)`,
		`CREATE TABLE rb_edge_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id`,
		// mono: one class only, in predictions and labels.
		fmt.Sprintf(`INSERT INTO rb_edge SELECT toDateTime(%d + number), concat('m-', toString(number)), 'mono', '0', 0.1 + (number %% 5) / 10,
			20, 0, number %% 7, 'a' FROM numbers(500)`, cur),
		fmt.Sprintf(`INSERT INTO rb_edge_labels SELECT concat('m-', toString(number)), '0', toDateTime(%d + number + 60) FROM numbers(500)`, cur),
		// fp: every label is "0", but "1" is predicted 100 times.
		fmt.Sprintf(`INSERT INTO rb_edge SELECT toDateTime(%d + number), concat('f-', toString(number)), 'fp', if(number < 100, '1', '0'), 0.5,
			20, 0, number %% 7, 'a' FROM numbers(500)`, cur),
		fmt.Sprintf(`INSERT INTO rb_edge_labels SELECT concat('f-', toString(number)), '0', toDateTime(%d + number + 60) FROM numbers(500)`, cur),
		// unseen: the labels have a class "z" that is never predicted.
		fmt.Sprintf(`INSERT INTO rb_edge SELECT toDateTime(%d + number), concat('u-', toString(number)), 'unseen', if(number %% 2 = 0, 'a', 'b'), 0,
			20, 0, number %% 7, 'a' FROM numbers(600)`, cur),
		fmt.Sprintf(`INSERT INTO rb_edge_labels SELECT concat('u-', toString(number)), multiIf(number %% 3 = 0, 'z', number %% 2 = 0, 'a', 'b'),
			toDateTime(%d + number + 60) FROM numbers(600)`, cur),
	); err != nil {
		t.Fatal(err)
	}
	model := func(name, task, extra string) string {
		return fmt.Sprintf(`  - name: %s
    task: %s
    predictions: {table: rb_edge, timestamp: ts, id: request_id, model_column: model, prediction: prediction, latency: latency_ms, error: is_error%s}
    ground_truth: {table: rb_edge_labels, id: request_id, label: label, timestamp: ts}
    features: [{name: num, type: numeric}, {name: cat, type: categorical}]
    reference: {offset: 1h}
`, name, task, extra)
	}
	target := loadTarget(t, fmt.Sprintf("clickhouse: {addr: [%q]}\nmodels:\n", server.Addr())+
		model("empty", "binary_classification\n    positive_class: \"1\"", ", score: score")+
		model("mono", "binary_classification\n    positive_class: \"1\"", ", score: score")+
		model("fp", "binary_classification\n    positive_class: \"1\"", "")+
		model("unseen", "multiclass_classification", ""))
	got := gather(t, target, NewCounters(), 20*time.Second)
	assertAllFinite(t, got)

	// series returns the model's series, without the ones every model has.
	series := func(model string) map[string]float64 {
		out := map[string]float64{}
		for key, v := range got {
			if !strings.Contains(key, `model="`+model+`"`) {
				continue
			}
			for _, always := range []string{"mlmon_scrape_duration_seconds", "mlmon_query_errors_total", "mlmon_skipped_collections_total", "mlmon_clickhouse_",
				"mlmon_model_info", "mlmon_sample_ratio"} {
				if strings.HasPrefix(key, always) {
					v = math.NaN()
				}
			}
			if !math.IsNaN(v) {
				out[key] = v
			}
		}
		return out
	}
	exactly := func(model string, want map[string]float64) {
		t.Helper()
		have := series(model)
		for key, w := range want {
			key = strings.ReplaceAll(key, "M", `model="`+model+`"`)
			g, ok := have[key]
			switch {
			case !ok:
				t.Errorf("%s missing, want %g", key, w)
			case math.Abs(g-w) > 1e-9:
				t.Errorf("%s = %.12g, want %.12g", key, g, w)
			}
			delete(have, key)
		}
		for _, key := range slices.Sorted(maps.Keys(have)) {
			t.Errorf("%s = %g: not expected", key, have[key])
		}
	}

	// No rows at all: the counts say so (0), every ratio and statistic is
	// absent, and so is the freshness of data that never came.
	exactly("empty", map[string]float64{
		`mlmon_scrape_success{M}`:                                   1,
		`mlmon_predictions{M,window="current"}`:                     0,
		`mlmon_predictions{M,window="reference"}`:                   0,
		`mlmon_prediction_rate{M}`:                                  0,
		`mlmon_labeled_predictions{M}`:                              0,
		`mlmon_calibration_samples{M}`:                              0,
		`mlmon_feature_samples{feature="num",M,window="current"}`:   0,
		`mlmon_feature_samples{feature="num",M,window="reference"}`: 0,
		`mlmon_feature_samples{feature="cat",M,window="current"}`:   0,
		`mlmon_feature_samples{feature="cat",M,window="reference"}`: 0,
	})

	// Labels and predictions are all "0": the positive class is absent,
	// so its precision, recall and F1 are omitted, and so is ROC AUC (no
	// positives); log loss and Brier are defined.
	mono := series("mono")
	for _, key := range []string{`mlmon_class_precision_ratio{class="0",model="mono"}`, `mlmon_class_recall_ratio{class="0",model="mono"}`,
		`mlmon_accuracy_ratio{model="mono",window="current"}`, `mlmon_precision_ratio{average="macro",model="mono",window="current"}`} {
		if mono[key] != 1 {
			t.Errorf("%s = %v, want 1", key, mono[key])
		}
	}
	for key := range mono {
		if strings.Contains(key, `class="1"`) || strings.Contains(key, `"1"`) || strings.HasPrefix(key, "mlmon_roc_auc") {
			t.Errorf("%s = %g: the absent class (or AUC without positives) must be omitted", key, mono[key])
		}
	}
	if _, ok := mono[`mlmon_log_loss{model="mono",window="current"}`]; !ok {
		t.Error("log loss is defined with a single class but missing")
	}

	// "1" predicted but never a label: its precision is a true 0, its
	// recall undefined (omitted).
	fp := series("fp")
	for key, w := range map[string]float64{
		`mlmon_class_precision_ratio{class="1",model="fp"}`: 0,
		`mlmon_class_f1_score{class="1",model="fp"}`:        0,
		`mlmon_class_recall_ratio{class="0",model="fp"}`:    0.8,
		`mlmon_class_precision_ratio{class="0",model="fp"}`: 1,
	} {
		if g, ok := fp[key]; !ok || g != w {
			t.Errorf("%s = %v (present %v), want %v", key, g, ok, w)
		}
	}
	if _, ok := fp[`mlmon_class_recall_ratio{class="1",model="fp"}`]; ok {
		t.Error("recall of a class that is never a label must be omitted, not 0")
	}

	// "z" is a label never predicted: recall 0, precision omitted.
	un := series("unseen")
	for key, w := range map[string]float64{
		`mlmon_class_recall_ratio{class="z",model="unseen"}`:              0,
		`mlmon_class_f1_score{class="z",model="unseen"}`:                  0,
		`mlmon_confusion_matrix{actual="z",model="unseen",predicted="a"}`: 100,
		`mlmon_confusion_matrix{actual="z",model="unseen",predicted="b"}`: 100,
		`mlmon_labeled_predictions{model="unseen"}`:                       600,
	} {
		if g, ok := un[key]; !ok || g != w {
			t.Errorf("%s = %v (present %v), want %v", key, g, ok, w)
		}
	}
	if _, ok := un[`mlmon_class_precision_ratio{class="z",model="unseen"}`]; ok {
		t.Error("precision of a class that is never predicted must be omitted, not 0")
	}
}
