package dashboards

import (
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana-tools/sdk"

	"github.com/mlmon/mlmon/rules"
)

// The UIDs are part of the interface: links, bookmarks and provisioning
// refer to them.
var wantUIDs = []string{UIDExporter, UIDFeatures, UIDModel, UIDOverview}

var wantDatasource = map[string]any{"type": "prometheus", "uid": "${datasource}"}

func TestBoards(t *testing.T) {
	var uids []string
	for _, s := range loadShipped(t) {
		b := s.board
		t.Run(b.UID, func(t *testing.T) {
			uids = append(uids, b.UID)
			if want := b.UID + ".json"; filepath.Base(s.file) != want {
				t.Errorf("file %s, want %s", s.file, want)
			}
			if b.ID != 0 {
				t.Errorf("id %d: must be 0 (absent) so Grafana assigns its own", b.ID)
			}
			if b.SchemaVersion != SchemaVersion {
				t.Errorf("schemaVersion %d, want %d", b.SchemaVersion, SchemaVersion)
			}
			if !strings.HasPrefix(b.Title, "mlmon / ") || !b.HasTag(Tag) {
				t.Errorf("title %q, tags %v: want \"mlmon / …\" and tag %s", b.Title, b.Tags, Tag)
			}
			checkLinks(t, b)
			checkVariables(t, b)
			checkPanels(t, s)
		})
	}
	slices.Sort(uids)
	if !reflect.DeepEqual(uids, wantUIDs) {
		t.Errorf("UIDs %v, want %v", uids, wantUIDs)
	}
}

func checkLinks(t *testing.T, b sdk.Board) {
	t.Helper()
	var byTag, runbooks bool
	for _, l := range b.Links {
		if l.Type == "dashboards" && slices.Contains(l.Tags, Tag) && l.IncludeVars && l.KeepTime != nil && *l.KeepTime {
			byTag = true
		}
		if l.Type == "link" && l.URL != nil && *l.URL == rules.RunbookBase {
			runbooks = true
		}
	}
	if !byTag || !runbooks {
		t.Errorf("links %+v: want the mlmon dashboards by tag (keeping time and variables) and the runbooks", b.Links)
	}
}

func checkVariables(t *testing.T, b sdk.Board) {
	t.Helper()
	vars := map[string]sdk.TemplateVar{}
	for _, v := range b.Templating.List {
		if _, dup := vars[v.Name]; dup {
			t.Errorf("variable %s defined twice", v.Name)
		}
		vars[v.Name] = v
		// Refresh 0 keeps the options saved in the JSON, which are empty.
		if (v.Type == "query" || v.Type == "datasource") && (v.Refresh.Value == nil || *v.Refresh.Value == 0) {
			t.Errorf("variable %s is never refreshed", v.Name)
		}
		if v.Type == "query" && !reflect.DeepEqual(v.Datasource, wantDatasource) {
			t.Errorf("variable %s: datasource %v, want %v", v.Name, v.Datasource, wantDatasource)
		}
	}
	if ds, ok := vars["datasource"]; !ok || ds.Type != "datasource" || ds.Query != "prometheus" {
		t.Errorf("no Prometheus datasource variable: %+v", ds)
	}
	used := map[string]bool{}
	for _, p := range dataPanels(b) {
		for _, e := range exprs(p) {
			for _, name := range referencedVars(e) {
				used[name] = true
			}
		}
	}
	for _, v := range b.Templating.List {
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			for _, name := range referencedVars(q) {
				used[name] = true
			}
		}
	}
	for name := range used {
		if _, ok := vars[name]; !ok {
			t.Errorf("$%s is used but not defined", name)
		}
	}
	want := map[string]string{
		"model":   "label_values(mlmon_model_info, model)",
		"feature": `label_values(mlmon_feature_psi{model="$model"}, feature)`,
	}
	for name, query := range want {
		v, ok := vars[name]
		if !ok {
			continue
		}
		if v.Type != "query" || v.Query != query {
			t.Errorf("variable %s: %s %v, want query %s", name, v.Type, v.Query, query)
		}
		if name == "feature" && (!v.Multi || !v.IncludeAll) {
			t.Errorf("feature must be multi-select with All")
		}
	}
	if used["feature"] && !used["model"] {
		t.Error("a board with $feature must select its model")
	}
}

// rangeSelector finds range selectors; rates must use $__rate_interval so
// they follow the data source's scrape interval.
var rangeSelector = regexp.MustCompile(`\[([^\]]*)\]`)

func checkPanels(t *testing.T, s shipped) {
	t.Helper()
	ids := map[uint]bool{}
	type rect struct{ x, y, w, h int }
	var placed []rect
	for _, p := range s.board.Panels {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d zero or not unique", p.Title, p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.X == nil || g.Y == nil || g.W == nil || g.H == nil || *g.W <= 0 || *g.H <= 0 || *g.X+*g.W > 24 {
			t.Errorf("panel %q: bad gridPos", p.Title)
			continue
		}
		r := rect{*g.X, *g.Y, *g.W, *g.H}
		for _, o := range placed {
			if r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h {
				t.Errorf("panel %q overlaps another", p.Title)
			}
		}
		placed = append(placed, r)
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
	}
	for _, p := range dataPanels(s.board) {
		if !reflect.DeepEqual(p.Datasource, wantDatasource) {
			t.Errorf("panel %q: datasource %v, want %v", p.Title, p.Datasource, wantDatasource)
		}
		if p.Description == nil || *p.Description == "" {
			t.Errorf("panel %q has no description", p.Title)
		}
		raw := s.rawPanel(p.ID)
		unit, _ := dig(raw, "fieldConfig", "defaults", "unit").(string)
		if unit == "" {
			t.Errorf("panel %q has no unit", p.Title)
		}
		ts := targetsOf(p)
		if ts == nil || len(*ts) == 0 {
			t.Errorf("panel %q (%s) has no targets", p.Title, p.Type)
			continue
		}
		for _, tg := range *ts {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q target %s has no expr", p.Title, tg.RefID)
			}
			if !reflect.DeepEqual(tg.Datasource, wantDatasource) {
				t.Errorf("panel %q target %s: datasource %v", p.Title, tg.RefID, tg.Datasource)
			}
			for _, m := range rangeSelector.FindAllStringSubmatch(tg.Expr, -1) {
				if m[1] != "$__rate_interval" {
					t.Errorf("panel %q: range [%s]: use [$__rate_interval]", p.Title, m[1])
				}
			}
		}
	}
}

// dig walks nested JSON objects.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// The panels that show an alerting metric colour it from the rules'
// default threshold.
func TestThresholdsMatchRules(t *testing.T) {
	cases := []struct {
		uid, title, threshold string
	}{
		{UIDFeatures, "PSI", "psi_max"},
		{UIDFeatures, "PSI by feature", "psi_max"},
		{UIDFeatures, "Features ranked by PSI", "psi_max"},
		{UIDFeatures, "Missing values", "missing_ratio_max"},
		{UIDFeatures, "Jensen-Shannon divergence", "js_max"},
		{UIDFeatures, "Out-of-range values (numeric)", "out_of_range_ratio_max"},
		{UIDFeatures, "Unseen categories (categorical)", "unseen_category_ratio_max"},
		{UIDModel, "Prediction PSI", "prediction_psi_max"},
		{UIDModel, "Prediction drift", "prediction_psi_max"},
		{UIDModel, "Accuracy drop (reference − current)", "accuracy_drop_max"},
		{UIDModel, "Error ratio", "error_ratio_max"},
		{UIDModel, "Prediction latency", "latency_p99_max_seconds"},
		{UIDModel, "Label coverage", "label_coverage_min"},
		{UIDModel, "Label drift", "label_psi_max"},
		{UIDOverview, "Prediction drift (PSI)", "prediction_psi_max"},
		{UIDOverview, "Accuracy drop vs reference", "accuracy_drop_max"},
		{UIDOverview, "Label coverage", "label_coverage_min"},
		{UIDOverview, "Drifted features", "drifted_features_min"},
		{UIDOverview, "Age of the newest prediction", "prediction_staleness_max_seconds"},
		{UIDOverview, "Age of the newest label", "label_staleness_max_seconds"},
	}
	boards := map[string]shipped{}
	for _, s := range loadShipped(t) {
		boards[s.board.UID] = s
	}
	for _, c := range cases {
		want := ruleDefault(c.threshold)
		var found bool
		for _, p := range boards[c.uid].board.Panels {
			if p.Title != c.title {
				continue
			}
			found = true
			steps, _ := dig(boards[c.uid].rawPanel(p.ID), "fieldConfig", "defaults", "thresholds", "steps").([]any)
			var ok bool
			for _, st := range steps {
				if v, isNum := dig(st, "value").(float64); isNum && v == want {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s / %s: no threshold step at %s = %g: %v", c.uid, c.title, c.threshold, want, steps)
			}
		}
		if !found {
			t.Errorf("%s: no panel %q", c.uid, c.title)
		}
	}
}
