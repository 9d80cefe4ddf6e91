package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// High cardinality in the data never reaches the series or the exporter's
// memory: a categorical feature with a million distinct values, and a model
// with a thousand classes, on a real scrape of the binary.
func TestHighCardinalityIsBounded(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS hc_cats",
		"DROP TABLE IF EXISTS hc_classes",
		"DROP TABLE IF EXISTS hc_labels",
		"CREATE TABLE hc_cats (ts DateTime, request_id String, prediction Float64, cat String) ENGINE = MergeTree ORDER BY ts",
		// A million distinct values in the reference hour, 200,000 more
		// (none of them seen before) in the current hour.
		"INSERT INTO hc_cats SELECT now() - 3700 - number % 3000, toString(number), number % 10, "+
			"concat('category-value-', toString(number)) FROM numbers(1000000)",
		"INSERT INTO hc_cats SELECT now() - 10 - number % 3000, toString(number), number % 10, "+
			"concat('current-value-', toString(number)) FROM numbers(200000)",
		"CREATE TABLE hc_classes (ts DateTime, request_id String, prediction String) ENGINE = MergeTree ORDER BY ts",
		"CREATE TABLE hc_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
		// A thousand classes, each predicted 100 times; every 7th
		// prediction is wrong (its label is the next class).
		"INSERT INTO hc_classes SELECT now() - 10 - number % 3000, toString(number), concat('class-', toString(number % 1000)) FROM numbers(100000)",
		"INSERT INTO hc_labels SELECT toString(number), concat('class-', toString((number + (number % 7 = 0)) % 1000)), now() - 5 FROM numbers(100000)",
	); err != nil {
		t.Fatal(err)
	}
	const maxCategories, maxClasses = 20, 10
	cfg := fmt.Sprintf(`clickhouse: {addr: [%q]}
defaults: {max_categories: %d, max_classes: %d}
models:
  - name: cats
    task: regression
    predictions: {table: hc_cats, timestamp: ts, id: request_id, prediction: prediction}
    features: [{name: cat, type: categorical}]
    reference: {offset: 1h}
  - name: classes
    task: multiclass_classification
    predictions: {table: hc_classes, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: hc_labels, id: request_id, label: label, timestamp: ts}
`, server.Addr(), maxCategories, maxClasses)
	exp := runExporter(t, exporterOpts{config: writeFile(t, t.TempDir(), "mlmon.yml", cfg)})
	rssBefore := exp.status("VmRSS")

	var got map[string]float64
	for range 3 { // the first scrape profiles the reference, the others reuse it
		got = exp.metrics("30")
	}
	peak, rssAfter := exp.status("VmHWM"), exp.status("VmRSS")
	t.Logf("exporter RSS: %.1f MiB before, %.1f MiB after, peak %.1f MiB (+%.1f MiB)",
		mib(rssBefore), mib(rssAfter), mib(peak), mib(peak-rssBefore))
	want(t, got, map[string]float64{
		`mlmon_scrape_success{model="cats"}`:                                   1,
		`mlmon_scrape_success{model="classes"}`:                                1,
		`mlmon_predictions{model="cats",window="reference"}`:                   1000000,
		`mlmon_feature_samples{feature="cat",model="cats",window="current"}`:   200000,
		`mlmon_feature_samples{feature="cat",model="cats",window="reference"}`: 1000000,
		`mlmon_labeled_predictions{model="classes"}`:                           100000,
		// Computed on the whole matrix, not the capped one.
		`mlmon_accuracy_ratio{model="classes",window="current"}`: float64(100000-14286) / 100000,
	})
	// Over 1000 reference values there is no complete list to call a value
	// unseen: the ratio is omitted rather than guessed.
	if v, ok := got[`mlmon_feature_unseen_category_ratio{feature="cat",model="cats"}`]; ok {
		t.Errorf("unseen category ratio reported (%v) for a reference of a million values", v)
	}
	for _, f := range []string{"mlmon_feature_psi", "mlmon_feature_js_divergence", "mlmon_feature_chi2_p_value"} {
		if _, ok := got[f+`{feature="cat",model="cats"}`]; !ok {
			t.Errorf("%s missing for the categorical feature", f)
		}
	}

	perModel := map[string]map[string]int{"cats": {}, "classes": {}}
	for k := range got {
		for model, fams := range perModel {
			if strings.Contains(k, `model="`+model+`"`) {
				fams[k[:strings.IndexByte(k, '{')]]++
			}
		}
		if strings.Contains(k, "category-value") || strings.Contains(k, "current-value") {
			t.Errorf("a category became a label value: %s", k)
		}
	}
	t.Logf("series per family: cats %v", perModel["cats"])
	t.Logf("series per family: classes %v", perModel["classes"])
	// A categorical feature's values are bins, never labels: the model has
	// a fixed set of series whatever the number of values.
	total := 0
	for _, n := range perModel["cats"] {
		total += n
	}
	if total > 30 {
		t.Errorf("%d series for a one-feature model: %v", total, perModel["cats"])
	}
	// Per-class series: at most max_classes classes; the confusion matrix
	// at most (max_classes + 1)² cells, the rest folded into __other__.
	cls := perModel["classes"]
	for _, f := range []string{"mlmon_class_precision_ratio", "mlmon_class_recall_ratio", "mlmon_class_f1_score"} {
		if cls[f] == 0 || cls[f] > maxClasses {
			t.Errorf("%s: %d series, want 1..%d", f, cls[f], maxClasses)
		}
	}
	if n := cls["mlmon_confusion_matrix"]; n == 0 || n > (maxClasses+1)*(maxClasses+1) {
		t.Errorf("mlmon_confusion_matrix: %d series, want 1..%d", n, (maxClasses+1)*(maxClasses+1))
	}
	var other, cells float64
	for k, v := range got {
		if strings.HasPrefix(k, `mlmon_confusion_matrix{`) && strings.Contains(k, `model="classes"`) {
			cells += v
			if strings.Contains(k, `"__other__"`) {
				other += v
			}
		}
	}
	if cells != 100000 || other == 0 {
		t.Errorf("confusion matrix holds %v rows (%v in __other__), want all 100000 with the rare classes folded", cells, other)
	}

	// Memory: holding the million values would take ≥ 38 MB (22-byte
	// strings plus 16-byte headers); the exporter keeps aggregates only.
	if grew := peak - rssBefore; grew > 32<<20 {
		t.Errorf("exporter peak RSS grew by %.1f MiB over the scrapes", mib(grew))
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
