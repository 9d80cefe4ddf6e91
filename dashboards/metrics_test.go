package dashboards

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/mlmon/mlmon/collector"
)

// notMetrics are PromQL words that look like identifiers but name no
// series: aggregations (which may be followed by by/without before their
// parenthesis), set and comparison keywords, and literals.
var notMetrics = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
}

// labelListKeywords are followed by a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// metricNames returns the metric names a PromQL expression selects. It is a
// small scanner, not a parser: it skips strings, label matchers, range
// brackets, Grafana variables, numbers and durations, function and
// aggregation names and the label lists of by/without/on/ignoring/group_*.
func metricNames(expr string) []string {
	var names []string
	rs := []rune(expr)
	skipTo := func(i int, close rune) int {
		for i < len(rs) && rs[i] != close {
			if rs[i] == '"' || rs[i] == '\'' || rs[i] == '`' {
				i = skipString(rs, i)
				continue
			}
			i++
		}
		return i + 1
	}
	nextNonSpace := func(i int) int {
		for i < len(rs) && unicode.IsSpace(rs[i]) {
			i++
		}
		return i
	}
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(rs, i)
		case c == '{':
			i = skipTo(i+1, '}')
		case c == '[':
			i = skipTo(i+1, ']')
		case c == '$':
			i++
			if i < len(rs) && rs[i] == '{' {
				i = skipTo(i, '}')
			}
			for i < len(rs) && isIdent(rs[i]) {
				i++
			}
		case unicode.IsDigit(c) || (c == '.' && i+1 < len(rs) && unicode.IsDigit(rs[i+1])):
			for i < len(rs) && (isIdent(rs[i]) || rs[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(rs) && isIdent(rs[i]) {
				i++
			}
			word := string(rs[start:i])
			next := nextNonSpace(i)
			switch {
			case labelListKeywords[word]:
				if next < len(rs) && rs[next] == '(' {
					i = skipTo(next+1, ')')
				}
			case notMetrics[strings.ToLower(word)]:
			case next < len(rs) && rs[next] == '(':
				// A function call.
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	return names
}

func skipString(rs []rune, i int) int {
	q := rs[i]
	for i++; i < len(rs); i++ {
		if rs[i] == '\\' && q != '`' {
			i++
			continue
		}
		if rs[i] == q {
			return i + 1
		}
	}
	return i
}

func isIdentStart(r rune) bool { return r == '_' || r == ':' || unicode.IsLetter(r) }
func isIdent(r rune) bool      { return isIdentStart(r) || unicode.IsDigit(r) }

func TestMetricNamesScanner(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`mlmon_feature_psi{model="$model", feature=~"$feature"}`, []string{"mlmon_feature_psi"}},
		{`max by (model) (model:mlmon_feature_drifted:count)`, []string{"model:mlmon_feature_drifted:count"}},
		{`sum by (model, query) (rate(mlmon_query_errors_total[$__rate_interval]))`, []string{"mlmon_query_errors_total"}},
		{`count(ALERTS{alertname=~"MLMon.*", alertstate="firing"}) or on () vector(0)`, []string{"ALERTS"}},
		{`time() - max by (model) (mlmon_last_label_timestamp_seconds)`, []string{"mlmon_last_label_timestamp_seconds"}},
		{`process_resident_memory_bytes and on (job, instance) mlmon_build_info`, []string{"process_resident_memory_bytes", "mlmon_build_info"}},
		{`a > bool 0 or on (feature) 0 * b offset 5m`, []string{"a", "b"}},
		{`max(x{l="a{b}[c]"}) or vector(1e-3) * 0.5`, []string{"x"}},
		{`m1 / ignoring (window) group_left (task) m2`, []string{"m1", "m2"}},
		{`{__name__="weird"}`, nil},
	}
	for _, c := range cases {
		if got := metricNames(c.expr); !reflect.DeepEqual(got, c.want) {
			t.Errorf("metricNames(%s) = %q, want %q", c.expr, got, c.want)
		}
	}
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
			for _, n := range metricNames(expr) {
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
