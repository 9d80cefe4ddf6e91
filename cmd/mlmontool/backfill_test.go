package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func TestBackfillRejectsBadFlags(t *testing.T) {
	cfg := filepath.Join("..", "..", "internal", "config", "testdata", "minimal.yml")
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from=yesterday", "--to=2026-01-02T00:00:00Z"}, "--from"},
		{[]string{"--from=2026-01-02T00:00:00Z", "--to=2026-01-01T00:00:00Z"}, "before --from"},
		{[]string{"--from=2026-01-01T00:00:00Z", "--to=" + future}, "in the future"},
		{[]string{"--from=2026-01-01T00:00:00Z", "--to=2026-01-02T00:00:00Z", "--step=0s"}, "at least 1s"},
		{[]string{"--from=2026-01-01T00:00:00Z", "--to=2026-01-02T00:00:00Z", "--step=1x"}, "--step"},
		{[]string{"--from=2000-01-01T00:00:00Z", "--to=2026-01-02T00:00:00Z", "--step=1m"}, "split the range"},
		{[]string{"--from=2026-01-01T00:00:00Z", "--to=2026-01-02T00:00:00Z", "--model=nope"}, "--model=nope: no such model"},
		{[]string{"--from=2026-01-01T00:00:00Z", "--to=2026-01-02T00:00:00Z", "--label=job"}, "name=value"},
		{[]string{"--from=2026-01-01T00:00:00Z", "--to=2026-01-02T00:00:00Z", "--label=a=1", "--label=a=2"}, "given twice"},
	} {
		var out, errOut bytes.Buffer
		args := append([]string{"backfill", "--config.file=" + cfg, "--output=" + filepath.Join(t.TempDir(), "h.om")}, c.args...)
		if code := run(args, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error saying %q", c.args, code, errOut.String(), c.want)
		}
	}
}

// TestStoreRendersContiguousFamilies feeds two steps whose families and
// series interleave and checks the OpenMetrics text: each family once, its
// series' samples in time order, timestamps in seconds, the --label pairs
// added (timestamps are floats in seconds, as expfmt writes them), # EOF at
// the end. TestBackfillIntoPrometheus has promtool read such a file.
func TestStoreRendersContiguousFamilies(t *testing.T) {
	gauge := dto.MetricType_GAUGE
	mf := func(name string, v float64, model string) *dto.MetricFamily {
		help := "h " + name
		ln := "model"
		return &dto.MetricFamily{Name: &name, Help: &help, Type: &gauge, Metric: []*dto.Metric{{
			Label: []*dto.LabelPair{{Name: &ln, Value: &model}}, Gauge: &dto.Gauge{Value: &v}}}}
	}
	extra, err := parseLabels([]string{"job=mlmon"})
	if err != nil {
		t.Fatal(err)
	}
	s := newHistoryStore(extra)
	s.add([]*dto.MetricFamily{mf("mlmon_b", 1, "x"), mf("mlmon_a", 2, "x")}, 1_000_000)
	s.add([]*dto.MetricFamily{mf("mlmon_a", 3, "x"), mf("mlmon_a", 4, "y"), mf("mlmon_b", 5.5, "x")}, 1_003_600_000)
	var b bytes.Buffer
	if err := s.render(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP mlmon_a h mlmon_a
# TYPE mlmon_a gauge
mlmon_a{job="mlmon",model="x"} 2.0 1000.0
mlmon_a{job="mlmon",model="x"} 3.0 1.0036e+06
mlmon_a{job="mlmon",model="y"} 4.0 1.0036e+06
# HELP mlmon_b h mlmon_b
# TYPE mlmon_b gauge
mlmon_b{job="mlmon",model="x"} 1.0 1000.0
mlmon_b{job="mlmon",model="x"} 5.5 1.0036e+06
# EOF
`
	if b.String() != want {
		t.Errorf("rendered:\n%s\nwant:\n%s", b.String(), want)
	}
	if s.samples != 5 || s.series() != 3 {
		t.Errorf("store counts %d samples in %d series, want 5 in 3", s.samples, s.series())
	}
}

// TestBacktestPassesOfShippedRules: the drift rules chain (PSI per feature
// -> drifted-feature count -> MLMonFeatureDriftMultiple) needs three passes,
// and every alert becomes a condition series in the last.
func TestBacktestPassesOfShippedRules(t *testing.T) {
	passes, err := backtestPasses([]string{filepath.Join("..", "..", "rules", "mlmon.rules.yml")})
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]int{}
	alerts := 0
	for i, p := range passes {
		for _, g := range p.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					t.Errorf("pass %d keeps alerting rule %s (promtool does not evaluate alerts)", i+1, r.Alert)
				}
				if r.Record == BacktestAlertMetric {
					alerts++
					where[r.Labels["alertname"]] = i + 1
					continue
				}
				where[r.Record] = i + 1
			}
		}
	}
	for name, want := range map[string]int{
		"model_feature:mlmon_feature_psi:drifted": 1,
		"model:mlmon_feature_drifted:count":       2,
		"MLMonFeatureDriftMultiple":               3,
		"MLMonFeatureDrift":                       3,
	} {
		if where[name] != want {
			t.Errorf("%s in pass %d, want %d", name, where[name], want)
		}
	}
	if len(passes) != 3 || alerts < 20 {
		t.Errorf("%d passes, %d alerts; want 3 passes and every alert of the bundle", len(passes), alerts)
	}
}
