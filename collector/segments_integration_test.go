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

const segmentsConfig = `
clickhouse:
  addr: [%q]
  query_timeout: 20s
defaults:
  window: 1h
  min_samples: 100
models:
  - name: seg_bin
    task: binary_classification
    positive_class: "1"
    predictions: {table: seg_preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction}
    ground_truth: {table: seg_labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 1h, delay: 0s}
    features: [{name: f_num, type: numeric}, {name: f_cat, type: categorical}]
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
    segments:
      - {column: country, max_values: 3, feature_drift: true}
      - {name: app, column: app_version, max_values: 2, feature_drift: true}
      - {column: uid, max_values: 5}
  - name: seg_est
    task: binary_classification
    positive_class: "1"
    predictions: {table: seg_preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction, score: score}
    ground_truth: {table: seg_labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 1h, delay: 0s}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
    segments:
      - {column: country, max_values: 3}
  - name: seg_reg
    task: regression
    predictions: {table: seg_rpreds, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: seg_rlabels, id: request_id, label: label, timestamp: ts}
    performance: {window: 1h, delay: 0s}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
    segments:
      - {column: country, max_values: 3}
`

// segRow is one seeded prediction as the oracle reads it.
type segRow struct {
	Window  string   `json:"window"` // "ref" or "cur"
	Country *string  `json:"country"`
	App     uint32   `json:"app"`
	UID     string   `json:"uid"`
	Pred    string   `json:"pred"`
	Label   *string  `json:"label"`
	PredF   float64  `json:"pred_f"`
	LabelF  *float64 `json:"label_f"`
	Score   float64  `json:"score"`
	FNum    *float64 `json:"f_num"`
	FCat    *string  `json:"f_cat"`
}

// seedSegments writes the segment test's rows: a binary model whose
// country BR is degraded in the current window (40% wrong against 10%),
// whose current window has countries the reference never had and NULLs,
// whose app_version is numeric with a tie for the second place, and whose
// uid is unique per row (100000 distinct values); and a small regression
// model, BR degraded too.
func seedSegments(t *testing.T) (bin, est, reg []segRow) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS seg_preds (ts DateTime, request_id String, model String, prediction String, country Nullable(String), app_version UInt32, uid String, score Nullable(Float64), f_num Nullable(Float64), f_cat Nullable(String)) ENGINE = MergeTree ORDER BY (model, ts)",
		"CREATE TABLE IF NOT EXISTS seg_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
		"CREATE TABLE IF NOT EXISTS seg_rpreds (ts DateTime, request_id String, prediction Float64, country Nullable(String)) ENGINE = MergeTree ORDER BY ts",
		"CREATE TABLE IF NOT EXISTS seg_rlabels (request_id String, label Float64, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
	); err != nil {
		t.Fatal(err)
	}
	batch := func(sql string) interface {
		Append(...any) error
		Send() error
	} {
		b, err := server.Conn().PrepareBatch(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	preds := batch("INSERT INTO seg_preds (ts, request_id, model, prediction, country, app_version, uid, score, f_num, f_cat)")
	labels := batch("INSERT INTO seg_labels (request_id, label, ts)")
	rpreds := batch("INSERT INTO seg_rpreds (ts, request_id, prediction, country)")
	rlabels := batch("INSERT INTO seg_rlabels (request_id, label, ts)")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(19, 2026))
	str := func(s string) *string { return &s }
	refCountries := []*string{str("BR"), str("BR"), str("BR"), str("US"), str("US"), str("US"), str("DE"), str("DE"), str("FR"), nil}
	// Current: DE thin (below min_samples), unseen JP and MX, NULLs.
	curCountries := []*string{str("BR"), str("BR"), str("BR"), str("US"), str("US"), str("US"), str("JP"), str("MX"), nil, nil}
	country := func(window string) *string {
		if window == "cur" {
			if rng.IntN(100) < 2 {
				return str("DE")
			}
			return curCountries[rng.IntN(len(curCountries))]
		}
		return refCountries[rng.IntN(len(refCountries))]
	}
	refStart, curStart := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), scrapeNow.Add(-time.Hour)
	for _, w := range []struct {
		name  string
		n     int
		start time.Time
		span  time.Duration
	}{{"ref", 60000, refStart, 6 * time.Hour}, {"cur", 40000, curStart, time.Hour}} {
		for i := range w.n {
			id := fmt.Sprintf("b-%s-%d", w.name, i)
			ts := w.start.Add(time.Duration(i) * w.span / time.Duration(w.n))
			c := country(w.name)
			app := []uint32{70, 70, 71, 72}[i%4]
			pred := "0"
			if rng.Float64() < 0.4 {
				pred = "1"
			}
			wrong := 0.1
			if w.name == "cur" && c != nil && *c == "BR" {
				wrong = 0.4
				if rng.Float64() < 0.3 { // BR's output shifts too
					pred = "1"
				}
			}
			label := pred
			if rng.Float64() < wrong {
				label = map[string]string{"0": "1", "1": "0"}[pred]
			}
			// Features: f_num shifts by 1.5 standard deviations within BR
			// in the current window, and nowhere else; f_cat never moves.
			// DE's current f_num is mostly NULL: fewer than min_samples
			// values (DE has about 800 current rows).
			var fnum *float64
			nullP := 0.05
			if w.name == "cur" && c != nil && *c == "DE" {
				nullP = 0.95
			}
			if rng.Float64() >= nullP {
				x := rng.NormFloat64()
				if w.name == "cur" && c != nil && *c == "BR" {
					x += 1.5
				}
				fnum = &x
			}
			fcat := []*string{str("a"), str("a"), str("a"), str("b"), str("b"), str("c"), str("d"), nil}[rng.IntN(8)]
			r := segRow{Window: w.name, Country: c, App: app, UID: id, Pred: pred, FNum: fnum, FCat: fcat}
			must(preds.Append(ts, id, "seg_bin", pred, c, app, id, nil, fnum, fcat))
			if w.name == "ref" || rng.Float64() < 0.9 {
				r.Label = str(label)
				must(labels.Append(id, label, ts.Add(time.Minute)))
			}
			bin = append(bin, r)
		}
		// seg_est: scores with three decimals (exact in the exporter's
		// 1000-bucket histograms), labels drawn from underConfident; in the
		// current window BR's scores crowd toward 0.5, where the model is
		// unsure, so its estimated accuracy falls without any label.
		for i := range w.n / 10 {
			id := fmt.Sprintf("e-%s-%d", w.name, i)
			ts := w.start.Add(time.Duration(i) * w.span / time.Duration(w.n/10))
			c := country(w.name)
			u := rng.Float64()
			if w.name == "cur" && c != nil && *c == "BR" {
				u = 0.35 + 0.3*u
			}
			score := math.Round(u*1000) / 1000
			pred := "0"
			if score >= 0.5 {
				pred = "1"
			}
			label := "0"
			if rng.Float64() < underConfident(score) {
				label = "1"
			}
			must(preds.Append(ts, id, "seg_est", pred, c, uint32(0), id, score, nil, nil))
			must(labels.Append(id, label, ts.Add(time.Minute)))
			est = append(est, segRow{Window: w.name, Country: c, Pred: pred, Label: str(label), Score: score})
		}
		for i := range w.n / 10 {
			id := fmt.Sprintf("r-%s-%d", w.name, i)
			ts := w.start.Add(time.Duration(i) * w.span / time.Duration(w.n/10))
			c := country(w.name)
			y := 100 + 20*rng.NormFloat64()
			noise := 5.0
			if w.name == "cur" && c != nil && *c == "BR" {
				noise = 25
			}
			p := y + noise*rng.NormFloat64()
			r := segRow{Window: w.name, Country: c, PredF: p}
			must(rpreds.Append(ts, id, p, c))
			if w.name == "ref" || rng.Float64() < 0.9 {
				r.LabelF = &y
				must(rlabels.Append(id, y, ts.Add(time.Minute)))
			}
			reg = append(reg, r)
		}
	}
	for _, b := range []interface{ Send() error }{preds, labels, rpreds, rlabels} {
		must(b.Send())
	}
	return bin, est, reg
}

// TestSegmentsMatchPandas compares every segment series of a scrape with
// pandas' groupby and scikit-learn's metrics over the raw rows: the top
// values (ties by value), the fold of every other value and NULL into
// __other__, volumes, accuracy and macro F1, MAE and RMSE, the output's PSI
// within each value, and min_samples per value. The second scrape is
// compared once the reference's join with its segments is in (the first
// scrape computes the reference, whose segment values the joins need; a
// later one starts the reference join without waiting for it).
func TestSegmentsMatchPandas(t *testing.T) {
	bin, est, reg := seedSegments(t)
	target := loadTarget(t, fmt.Sprintf(segmentsConfig, server.Addr()))
	gatherSettled(t, target, `mlmon_segment_accuracy_ratio{model="seg_bin",segment="country",segment_value="BR",window="reference"}`)
	got := gatherSettled(t, target, `mlmon_segment_accuracy_ratio{model="seg_est",segment="country",segment_value="BR",window="reference"}`)
	// The numeric feature's bin edges are the reference's approximate
	// quantiles (60 000 rows: ClickHouse's reservoir), which pandas does
	// not reproduce: the oracle bins the rows itself at the exporter's
	// edges. The categorical feature's top categories it finds itself.
	ref := target.References.stats.entries["seg_bin"].val
	if ref == nil || ref.columns[0].feature != "f_num" || len(ref.binnings[0].Edges) == 0 {
		t.Fatalf("seg_bin's reference has no edges for f_num: %+v", ref)
	}
	want := runOracle(t, "testdata/segments_oracle.py", map[string]any{"bin": bin, "est": est, "reg": reg, "min_samples": 100,
		"f_num_edges": ref.binnings[0].Edges})
	if got[`mlmon_scrape_success{model="seg_bin"}`] != 1 || got[`mlmon_scrape_success{model="seg_reg"}`] != 1 || got[`mlmon_scrape_success{model="seg_est"}`] != 1 {
		t.Fatalf("scrape failed: %v", got)
	}
	// The regression model's output is binned at the reference's
	// approximate quantiles, which the oracle does not reproduce: its PSI
	// is checked for presence below.
	compareToOracle(t, got, want, `mlmon_segment_prediction_psi{model="seg_reg"`, `mlmon_segment_prediction_psi{model="seg_est"`)
	br := func(name string) float64 {
		return got[name+`{model="seg_est",segment="country",segment_value="BR"}`]
	}
	us := got[`mlmon_segment_estimated_accuracy_ratio{model="seg_est",segment="country",segment_value="US"}`]
	t.Logf("seg_est estimated accuracy: BR %.3f (shifted toward 0.5), US %.3f", br("mlmon_segment_estimated_accuracy_ratio"), us)
	if us-br("mlmon_segment_estimated_accuracy_ratio") < 0.1 {
		t.Errorf("BR's estimate %.3f is not well below US's %.3f", br("mlmon_segment_estimated_accuracy_ratio"), us)
	}
	// The feature shifted within BR reads as drift there, and nowhere else.
	fpsi := func(segment, value, feature string) float64 {
		k := `mlmon_segment_feature_psi{feature="` + feature + `",model="seg_bin",segment="` + segment + `",segment_value="` + value + `"}`
		v, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
		}
		return v
	}
	t.Logf("seg_bin feature PSI within country: BR f_num %.3f, f_cat %.4f; US f_num %.4f; app 70 f_num %.4f",
		fpsi("country", "BR", "f_num"), fpsi("country", "BR", "f_cat"), fpsi("country", "US", "f_num"), fpsi("app", "70", "f_num"))
	if p := fpsi("country", "BR", "f_num"); p < 0.5 {
		t.Errorf("BR's f_num PSI %.3f: its 1.5 sd shift should read well above 0.5", p)
	}
	for _, k := range [][3]string{{"country", "BR", "f_cat"}, {"country", "US", "f_num"}, {"country", "US", "f_cat"}, {"country", "__other__", "f_cat"}} {
		if p := fpsi(k[0], k[1], k[2]); p > 0.05 {
			t.Errorf("%s=%s %s PSI %.4f: nothing moved there", k[0], k[1], k[2], p)
		}
	}
	if _, ok := got[`mlmon_segment_feature_psi{feature="f_num",model="seg_bin",segment="country",segment_value="DE"}`]; ok {
		t.Error("DE has fewer than min_samples current f_num values: its f_num PSI must not be emitted")
	}
	fpsi("country", "DE", "f_cat") // enough f_cat values: emitted
	for k := range got {
		if strings.HasPrefix(k, "mlmon_segment_feature_psi{") && (strings.Contains(k, `segment="uid"`) || !strings.Contains(k, `model="seg_bin"`)) {
			t.Errorf("%s: feature drift only where feature_drift is set", k)
		}
	}
	perFamily := map[string]int{}
	for k := range want {
		perFamily[k[:strings.Index(k, "{")]]++
	}
	// country: BR, US, DE (f_cat only), __other__; app: 70, 71, __other__.
	if n := perFamily["mlmon_segment_feature_psi"]; n != 13 {
		t.Errorf("the oracle computed %d feature PSI series, want 13", n)
	}
	if n := perFamily["mlmon_segment_estimated_f1_score"]; n != 3 {
		t.Errorf("the oracle computed %d estimated F1 series, want 3 (BR, US, __other__)", n)
	}
	if len(want) < 80 {
		t.Fatalf("the oracle computed %d series: the data no longer covers the segments", len(want))
	}
	t.Logf("%d segment series agree with pandas and scikit-learn", len(want))

	// The degraded segment shows, and the healthy ones do not.
	acc := func(v, w string) float64 {
		return got[`mlmon_segment_accuracy_ratio{model="seg_bin",segment="country",segment_value="`+v+`",window="`+w+`"}`]
	}
	t.Logf("country accuracy, reference -> current: BR %.3f -> %.3f, US %.3f -> %.3f", acc("BR", "reference"), acc("BR", "current"), acc("US", "reference"), acc("US", "current"))
	if drop := acc("BR", "reference") - acc("BR", "current"); drop < 0.2 {
		t.Errorf("BR accuracy drop %.3f, want about 0.3", drop)
	}
	if drop := acc("US", "reference") - acc("US", "current"); drop > 0.05 {
		t.Errorf("US accuracy drop %.3f, want about 0", drop)
	}
	// Cardinality: at most max_values + 1 series per segment and family.
	perSegment := map[string]int{}
	for k := range got {
		if strings.HasPrefix(k, "mlmon_segment_") {
			seg := k[:strings.Index(k, "{")] + " " + between(k, `segment="`, `"`) + " " + between(k, `window="`, `"`) + " " + between(k, `model="`, `"`) + " " + between(k, `feature="`, `"`)
			perSegment[seg]++
		}
	}
	if n := perSegment[`mlmon_segment_predictions uid current seg_bin `]; n != 6 {
		t.Errorf("uid (100000 distinct values, max_values 5): %d current volume series, want 6", n)
	}
	for k, n := range perSegment {
		if limit := map[string]int{"country": 4, "app": 3, "uid": 6}[strings.Fields(k)[1]]; n > limit {
			t.Errorf("%s: %d series, more than max_values + 1 = %d", k, n, limit)
		}
	}
	for _, v := range []string{"BR", "US", "__other__"} {
		if _, ok := got[`mlmon_segment_prediction_psi{model="seg_reg",segment="country",segment_value="`+v+`"}`]; !ok {
			t.Errorf("seg_reg: no prediction PSI for country %s", v)
		}
	}
	// The whole-model series do not change with segments: the same scrape
	// without them has the same values (the same rows in every group).
	plain := strings.NewReplacer("    segments:\n      - {column: country, max_values: 3, feature_drift: true}\n      - {name: app, column: app_version, max_values: 2, feature_drift: true}\n      - {column: uid, max_values: 5}\n", "",
		"    segments:\n      - {column: country, max_values: 3}\n", "").Replace(fmt.Sprintf(segmentsConfig, server.Addr()))
	if strings.Contains(plain, "segments") {
		t.Fatal("the config without segments still has segments")
	}
	without := gather(t, loadTarget(t, plain), NewCounters(), 60*time.Second)
	for k, w := range without {
		if strings.Contains(k, "duration_seconds") || strings.HasPrefix(k, "mlmon_query_errors_total") {
			continue
		}
		// Float sums may differ in the last bits: the groups are summed
		// in another order.
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-12*math.Max(1, math.Abs(w)) {
			t.Errorf("%s: %v with segments, %v without", k, g, w)
		}
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	return s[:strings.Index(s, end)]
}

// gatherSettled scrapes target until a series with key appears (the
// caches' computations that later scrapes serve are done), and returns that
// scrape.
func gatherSettled(t testing.TB, target *Target, key string) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := gather(t, target, NewCounters(), 60*time.Second)
		if _, ok := got[key]; ok {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 60 s of scrapes", key)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
