package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
)

// oracleBin is one bin of bins_oracle.py's output.
type oracleBin struct {
	Feature  string   `json:"feature"`
	Window   string   `json:"window"`
	Index    int      `json:"index"`
	Lower    *float64 `json:"lower"`
	Upper    *float64 `json:"upper"`
	Category string   `json:"category"`
	Other    bool     `json:"other"`
	Ratio    float64  `json:"ratio"`
}

var numericBinLabel = regexp.MustCompile(`^(\d{2}): (\(-inf|\[\S+), (\S+\)|\+inf\))$`)

// The bin ratios equal numpy's histogram of the same rows over the
// reference's quantile edges, and each label names its bin's interval or
// category in bin order.
func TestBinRatiosMatchNumpyHistogram(t *testing.T) {
	rows, ref, cur := seedDriftAfresh(t)
	features := []map[string]string{{"name": "x_shift", "type": "numeric"}, {"name": "x_stable", "type": "numeric"},
		{"name": "x_nulls", "type": "numeric"}, {"name": "x_sparse", "type": "numeric"},
		{"name": "cat_new", "type": "categorical"}, {"name": "cat_nullable", "type": "categorical"},
		{"name": "prediction", "type": "categorical"}}
	var want []oracleBin
	runOracleInto(t, "testdata/bins_oracle.py", map[string]any{"bins": 8, "max_categories": 3, "min_samples": 100,
		"rows": rows, "reference": ref, "current": cur, "features": features}, &want)

	yml := strings.Replace(fmt.Sprintf(driftConfig, server.Addr()), "min_samples: 100}", "min_samples: 100, export_bins: true, export_categories: true}", 1)
	got := gather(t, loadTarget(t, yml), NewCounters(), 30*time.Second)
	if got[`mlmon_scrape_success{model="fraud"}`] != 1 {
		t.Fatalf("scrape failed")
	}
	seen := map[string]bool{}
	for _, w := range want {
		feature := w.Feature
		if feature == "prediction" {
			feature = "__prediction__"
		}
		var label string
		switch {
		case w.Other:
			label = "__other__"
		case w.Category != "":
			label = fmt.Sprintf("%02d: %s", w.Index, w.Category)
		default:
			label = findNumericLabel(t, got, feature, w)
		}
		k := fmt.Sprintf(`mlmon_feature_bin_ratio{bin=%q,feature=%q,model="fraud",window=%q}`, label, feature, w.Window)
		seen[k] = true
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing, want %g", k, w.Ratio)
			continue
		}
		if math.Abs(g-w.Ratio) > 1e-12 {
			t.Errorf("%s = %.15g, numpy %.15g", k, g, w.Ratio)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "mlmon_feature_bin_ratio{") && !seen[k] {
			t.Errorf("%s: not in numpy's histogram (x_sparse has fewer than min_samples current values)", k)
		}
	}
	if len(seen) < 40 {
		t.Errorf("only %d bins compared", len(seen))
	}
}

// findNumericLabel finds the scrape's label of a numeric bin by its index
// and checks that it names the oracle's interval.
func findNumericLabel(t *testing.T, got map[string]float64, feature string, w oracleBin) string {
	t.Helper()
	prefix := fmt.Sprintf(`mlmon_feature_bin_ratio{bin="%02d: `, w.Index)
	for k := range got {
		if !strings.HasPrefix(k, prefix) || !strings.Contains(k, fmt.Sprintf(`feature=%q`, feature)) {
			continue
		}
		label := k[len(`mlmon_feature_bin_ratio{bin="`):strings.Index(k, `",feature=`)]
		m := numericBinLabel.FindStringSubmatch(label)
		if m == nil {
			t.Errorf("%s: label %q does not name an interval", feature, label)
			return label
		}
		checkEdge(t, label, m[2], "(-inf", "[", w.Lower)
		checkEdge(t, label, m[3], "+inf)", ")", w.Upper)
		return label
	}
	return fmt.Sprintf("%02d: <no bin in the scrape>", w.Index)
}

func checkEdge(t *testing.T, label, s, inf, bracket string, want *float64) {
	t.Helper()
	if want == nil {
		if s != inf {
			t.Errorf("label %q: want an open end %q, got %q", label, inf, s)
		}
		return
	}
	v, err := strconv.ParseFloat(strings.Trim(s, bracket), 64)
	if err != nil || math.Abs(v-*want) > 5e-4*math.Abs(*want)+1e-12 {
		t.Errorf("label %q: edge %q, numpy's quantile edge %g (to 4 significant digits)", label, s, *want)
	}
}

// Without export_categories a categorical feature exposes only its
// "__other__" bin (category values are not label values); without
// export_bins there are no bin series, yet the distributions are recorded
// for the report pages.
func TestBinExportOptIn(t *testing.T) {
	seedDriftAfresh(t)
	for _, tc := range []struct {
		settings   string
		series     bool
		categories bool
	}{
		{"", false, false},
		{", export_bins: true", true, false},
	} {
		yml := strings.Replace(fmt.Sprintf(driftConfig, server.Addr()), "min_samples: 100}", "min_samples: 100"+tc.settings+"}", 1)
		target := loadTarget(t, yml)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s := NewScrape(ctx, target, NewCounters(), promslog.NewNopLogger(), scrapeNow)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(s)
		mfs, err := reg.Gather()
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var bins []string
		for _, mf := range mfs {
			if mf.GetName() != "mlmon_feature_bin_ratio" {
				continue
			}
			for _, m := range mf.GetMetric() {
				bins = append(bins, seriesKey(mf.GetName(), m))
			}
		}
		if tc.series != (len(bins) > 0) {
			t.Errorf("%q: %d bin series", tc.settings, len(bins))
		}
		for _, k := range bins {
			if strings.Contains(k, `feature="cat_new"`) && !strings.Contains(k, `bin="__other__"`) {
				t.Errorf("%q: %s: a category value as a label value without export_categories", tc.settings, k)
			}
		}
		d := s.Distributions()["fraud"]
		if len(d) != 7 {
			t.Fatalf("%q: %d distributions recorded, want 6 features and the output", tc.settings, len(d))
		}
		if d[4].Feature != "cat_new" || d[4].Bins[0].Category != "a" {
			t.Errorf("%q: cat_new's first bin %+v, want the reference's most frequent category a", tc.settings, d[4].Bins[0])
		}
	}
}

// runOracleInto runs a Python oracle on input (JSON on its stdin) and
// decodes its JSON output into out.
func runOracleInto(t *testing.T, script string, input, out any) {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle %s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatal(err)
	}
}

// seedDriftAfresh seeds the drift test's table into an empty table and
// drops it afterwards: seedDrift appends, and the drift tests seed it once.
func seedDriftAfresh(t *testing.T) (rows []map[string]any, ref, cur [2]int64) {
	drop := func() {
		if err := server.Exec(context.Background(), "DROP TABLE IF EXISTS drift_preds"); err != nil {
			t.Fatal(err)
		}
	}
	drop()
	t.Cleanup(drop)
	return seedDrift(t)
}
