package dashboards

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mlmon/mlmon/collector"
	"github.com/mlmon/mlmon/internal/promqlnames"
)

// metricNames returns the metric names a panel expression selects. Grafana
// substitutes its variables before Prometheus parses the query: so does
// this, with the built-ins' test values and a placeholder for the rest
// (variables stand for label values, durations or numbers, never for
// metric names).
func metricNames(expr string) ([]string, error) {
	expr = varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		if v, ok := builtins[m[1]+m[2]]; ok {
			return v
		}
		return "1"
	})
	return promqlnames.MetricNames(expr)
}

// Every metric a panel reads exists: the exporter exposes it, the rules
// bundle records it, or Prometheus or the Go client provides it. A renamed
// metric must not leave a panel silently empty.
func TestPanelsUseKnownMetrics(t *testing.T) {
	known := map[string]bool{"ALERTS": true, "up": true}
	for _, n := range collector.MetricNames() {
		known[n] = true
	}
	for _, r := range recordingRules(t) {
		known[r] = true
	}
	runtime := func(n string) bool { return strings.HasPrefix(n, "process_") || strings.HasPrefix(n, "go_") }
	for _, s := range loadShipped(t) {
		var checked int
		check := func(where, expr string) {
			checked++
			names, err := metricNames(expr)
			if err != nil {
				t.Errorf("%s / %s: %v", s.board.UID, where, err)
			}
			for _, n := range names {
				if !known[n] && !runtime(n) {
					t.Errorf("%s / %s: %s is neither exposed by the exporter nor recorded by rules/mlmon.rules.yml", s.board.UID, where, n)
				}
			}
		}
		for _, p := range dataPanels(s.board) {
			for _, e := range exprs(p) {
				check(p.Title, e)
			}
		}
		for _, v := range s.board.Templating.List {
			if q, ok := v.Query.(string); ok && v.Type == "query" {
				sel, _, ok := parseLabelValues(q)
				if !ok {
					t.Errorf("%s: variable %s: %q is not label_values(selector, label)", s.board.UID, v.Name, q)
					continue
				}
				check("$"+v.Name, sel)
			}
		}
		if checked == 0 {
			t.Errorf("%s: no expressions", s.board.UID)
		}
	}
}

// labelValues matches Grafana's label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\s*\)$`)

func parseLabelValues(q string) (selector, label string, ok bool) {
	m := labelValues.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// recordingRules are the series the shipped rules record.
func recordingRules(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "rules", "mlmon.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Record string `yaml:"record"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" && !slices.Contains(out, r.Record) {
				out = append(out, r.Record)
			}
		}
	}
	return out
}
