package dashboards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/grafana-tools/sdk"
)

// shipped is a committed dashboard as Grafana will read it: decoded with
// grafana-tools/sdk, and as raw JSON for what the sdk does not model
// (units of stat and table panels, transformations).
type shipped struct {
	file  string
	board sdk.Board
	raw   map[string]any
}

// rawPanel is the raw JSON of one panel.
func (s shipped) rawPanel(id uint) map[string]any {
	for _, p := range s.raw["panels"].([]any) {
		m := p.(map[string]any)
		if uint(m["id"].(float64)) == id {
			return m
		}
	}
	return nil
}

// loadShipped decodes every committed JSON file.
func loadShipped(t *testing.T) []shipped {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(JSONDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatalf("no dashboards in %s: run go generate ./dashboards/...", JSONDir)
	}
	var out []shipped
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := shipped{file: f}
		if err := json.Unmarshal(b, &s.board); err != nil {
			t.Fatalf("%s: sdk cannot decode it: %v", f, err)
		}
		if err := json.Unmarshal(b, &s.raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// dataPanels are the panels that show data (every panel but row headings).
func dataPanels(b sdk.Board) []*sdk.Panel {
	var ps []*sdk.Panel
	for _, p := range b.Panels {
		if p.Type != "row" {
			ps = append(ps, p)
		}
	}
	return ps
}

// exprs are a panel's non-hidden target expressions.
func exprs(p *sdk.Panel) []string {
	var out []string
	if ts := targetsOf(p); ts != nil {
		for _, t := range *ts {
			if !t.Hide {
				out = append(out, t.Expr)
			}
		}
	}
	return out
}

// varRef matches Grafana variable references: $name, ${name} and
// ${name:format}.
var varRef = regexp.MustCompile(`\$(?:\{(\w+)(?::[^}]*)?\}|(\w+))`)

// referencedVars lists the variables an expression uses, built-ins (those
// starting with __) left out.
func referencedVars(expr string) []string {
	var names []string
	for _, m := range varRef.FindAllStringSubmatch(expr, -1) {
		name := m[1] + m[2]
		if len(name) < 2 || name[:2] != "__" {
			names = append(names, name)
		}
	}
	return names
}

// builtins are what Grafana substitutes itself, with the values the tests
// use: a rate interval of four 15s scrapes.
var builtins = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__range":         "5m",
}

// targetsOf is p.GetTargets, also for panel types the sdk does not know
// (barchart), which keep their targets as decoded JSON.
func targetsOf(p *sdk.Panel) *[]sdk.Target {
	if ts := p.GetTargets(); ts != nil || p.CustomPanel == nil {
		return ts
	}
	raw, ok := (*p.CustomPanel)["targets"]
	if !ok {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var ts []sdk.Target
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil
	}
	return &ts
}
