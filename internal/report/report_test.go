package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/config"
)

const testConfig = `
clickhouse: {addr: ["127.0.0.1:9000"]}
models:
  - name: m
    task: binary_classification
    positive_class: "1"
    predictions: {table: p, timestamp: ts, id: id, prediction: pred}
    features:
      - {name: a, type: numeric}
      - {name: b, type: numeric}
      - {name: "c|d", column: c, type: categorical}
    reference: {offset: 24h}
`

// gauges builds metric families as a scrape would.
func gauges(t *testing.T, samples map[string][]gauge) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	for name, ss := range samples {
		var keys []string
		for k := range ss[0].labels {
			keys = append(keys, k)
		}
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: name}, keys)
		for _, s := range ss {
			g.With(s.labels).Set(s.v)
		}
		reg.MustRegister(g)
	}
	return reg
}

type gauge struct {
	labels map[string]string
	v      float64
}

func TestBuildRanksAndOmits(t *testing.T) {
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	reg := gauges(t, map[string][]gauge{
		"mlmon_feature_psi": {
			{map[string]string{"model": "m", "feature": "a"}, 0.05},
			{map[string]string{"model": "m", "feature": "c|d"}, 0.4},
		},
		"mlmon_feature_psi_critical_value": {{map[string]string{"model": "m", "feature": "c|d"}, 0.01}},
		"mlmon_scrape_success":             {{map[string]string{"model": "m"}, 1}},
		"mlmon_confusion_matrix": {
			{map[string]string{"model": "m", "actual": "1", "predicted": "0"}, 3},
			{map[string]string{"model": "m", "actual": "0", "predicted": "0"}, 7},
		},
		"mlmon_accuracy_ratio": {{map[string]string{"model": "m", "window": "current"}, 0.7}},
	})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	r := Build(cfg, time.Unix(0, 0), mfs, nil)
	m := r.Model("m")
	var names []string
	for _, f := range m.Features {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "c|d,a,b" {
		t.Errorf("ranking %v: want highest PSI first, no PSI last", names)
	}
	if !m.Features[0].Drifting || m.Features[1].Drifting || m.Drifting != 1 {
		t.Errorf("drifting: %+v", m.Features)
	}
	if m.Features[2].PSI != nil || m.Features[1].KS != nil {
		t.Error("a metric the scrape did not emit must be nil, not 0")
	}
	if c := m.Confusion; c == nil || strings.Join(c.Classes, ",") != "0,1" || c.Counts[1][0] != 3 || c.Counts[0][1] != 0 {
		t.Errorf("confusion %+v", c)
	}
	if len(m.Performance) != 1 || *m.Performance[0].Current != 0.7 || m.Performance[0].Reference != nil {
		t.Errorf("performance %+v", m.Performance)
	}

	var md bytes.Buffer
	if err := Render(&md, r, "m", "markdown"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `| **c\|d** (drifting) |`) {
		t.Errorf("markdown: a | in a name must be escaped in a table cell:\n%s", md.String())
	}
	if err := Render(&md, r, "m", "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
	if err := Render(&md, r, "nope", "json"); err == nil {
		t.Error("unknown model accepted")
	}
}

func TestNum(t *testing.T) {
	v := 0.123456
	for _, tc := range []struct {
		in   *float64
		want string
	}{{nil, "–"}, {&v, "0.1235"}} {
		if got := Num(tc.in); got != tc.want {
			t.Errorf("Num(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
