package dashboards

import (
	"fmt"

	"github.com/grafana-tools/sdk"

	"github.com/mlmon/mlmon/rules"
)

// Tag is on every mlmon dashboard; the dashboards link to each other by it.
const Tag = "mlmon"

// SchemaVersion is the Grafana dashboard schema the JSON is written in
// (Grafana 10.x); Grafana migrates it forward on load.
const SchemaVersion = 39

// UIDs of the dashboards: stable, so that links and bookmarks survive
// re-imports.
const (
	UIDOverview = "mlmon-overview"
	UIDModel    = "mlmon-model"
	UIDFeatures = "mlmon-feature-drift"
	UIDExporter = "mlmon-exporter"
)

// Dashboard is a generated board and what its tests need to know.
type Dashboard struct {
	Board *sdk.Board
	// Demo maps panel IDs to the demo models the panel must show data for
	// (on boards with a model variable).
	Demo map[uint][]string
}

// board accumulates panels, numbering them and laying them out left to
// right, top to bottom on Grafana's 24-column grid.
type board struct {
	d          Dashboard
	err        error
	nextID     uint
	x, y, rowH int
}

func newBoard(uid, title string, vars ...sdk.TemplateVar) *board {
	b := &sdk.Board{
		UID:           uid,
		Title:         title,
		Tags:          []string{Tag},
		Style:         "dark",
		Timezone:      "browser",
		Editable:      true,
		Rows:          []*sdk.Row{},
		Panels:        []*sdk.Panel{},
		Refresh:       &sdk.BoolString{Value: "1m"},
		SchemaVersion: SchemaVersion,
		Version:       1,
		GraphTooltip:  1, // shared crosshair: line up drift and accuracy in time
		Time:          sdk.Time{From: "now-6h", To: "now"},
		Timepicker: sdk.Timepicker{
			RefreshIntervals: []string{"30s", "1m", "5m", "15m", "1h"},
			TimeOptions:      []string{},
		},
		Links: dashboardLinks(),
	}
	// ID stays 0 (omitted): Grafana assigns database IDs; a fixed one
	// would collide on import.
	b.Templating.List = append([]sdk.TemplateVar{datasourceVar()}, vars...)
	b.Annotations.List = []sdk.Annotation{}
	return &board{d: Dashboard{Board: b, Demo: map[uint][]string{}}, nextID: 1}
}

// row starts a row of panels under a heading.
func (b *board) row(title string) {
	b.newline()
	p := &sdk.Panel{
		CommonPanel: sdk.CommonPanel{OfType: sdk.RowType, Type: "row", Title: title, ID: b.nextID},
		RowPanel:    &sdk.RowPanel{Panels: []sdk.Panel{}},
	}
	x, y, w, h := 0, b.y, 24, 1
	p.GridPos.X, p.GridPos.Y, p.GridPos.W, p.GridPos.H = &x, &y, &w, &h
	b.d.Board.Panels = append(b.d.Board.Panels, p)
	b.nextID++
	b.y++
}

func (b *board) newline() {
	if b.x > 0 {
		b.x, b.y, b.rowH = 0, b.y+b.rowH, 0
	}
}

// add places a panel after the previous one, wrapping at the grid's width.
func (b *board) add(ps ...panel) {
	for _, p := range ps {
		w, h := p.size()
		if b.x+w > 24 {
			b.newline()
		}
		sp, err := p.build(b.nextID, b.x, b.y)
		if err != nil && b.err == nil {
			b.err = fmt.Errorf("%s: %w", b.d.Board.UID, err)
		}
		if sp == nil {
			continue
		}
		b.d.Board.Panels = append(b.d.Board.Panels, sp)
		if p.demo != nil {
			b.d.Demo[b.nextID] = p.demo
		}
		b.nextID++
		b.x += w
		b.rowH = max(b.rowH, h)
	}
}

func (b *board) done() (Dashboard, error) { return b.d, b.err }

// dashboardLinks: the other mlmon dashboards (by tag, carrying the time
// range and the variables) and the runbooks.
func dashboardLinks() []sdk.Link {
	return []sdk.Link{
		{
			Title:       "mlmon",
			Type:        "dashboards",
			Tags:        []string{Tag},
			AsDropdown:  ptr(true),
			IncludeVars: true,
			KeepTime:    ptr(true),
		},
		{
			Title:       "Runbooks",
			Type:        "link",
			URL:         ptr(rules.RunbookBase),
			Icon:        ptr("doc"),
			TargetBlank: ptr(true),
			Tooltip:     ptr("What each mlmon alert means and what to do"),
		},
	}
}

// runbook links a panel to the runbook of the alert it explains.
func runbook(alert string) sdk.Link {
	return sdk.Link{Title: "Runbook: " + alert, Type: "link", URL: ptr(rules.RunbookURL(alert)), TargetBlank: ptr(true)}
}

// toBoard links a panel to another mlmon dashboard, keeping the time range
// and the data source; extra carries more variables, e.g. "&var-model=…".
func toBoard(title, uid, extra string) sdk.Link {
	return sdk.Link{Title: title, Type: "link", URL: ptr(boardURL(uid, extra))}
}

func boardURL(uid, extra string) string {
	return "/d/" + uid + "?var-datasource=${datasource}" + extra + "&${__url_time_range}"
}

// toModel is a data link from a series carrying a model label to the Model
// dashboard of that model.
var toModel = dataLink{Title: "Model ${__field.labels.model}", URL: boardURL(UIDModel, "&var-model=${__field.labels.model}")}

// toFeatureDistribution is a data link from a table row carrying a feature
// to the Feature drift board on that feature alone, where its reference and
// current distributions are drawn.
var toFeatureDistribution = dataLink{Title: "Distribution of ${__data.fields.feature}",
	URL: boardURL(UIDFeatures, "&var-model=${model}&var-feature=${__data.fields.feature}")}

// When Grafana refreshes a variable's options; the sdk writes false (never)
// unless told.
var (
	onLoad      = sdk.BoolInt{Value: ptr(int64(1))}
	onTimeRange = sdk.BoolInt{Value: ptr(int64(2))}
)

func datasourceVar() sdk.TemplateVar {
	return sdk.TemplateVar{
		Name:  "datasource",
		Label: "Data source",
		Type:  "datasource",
		Query: "prometheus",
		// Load the data sources with the dashboard; with nothing selected
		// Grafana picks the default Prometheus.
		Refresh: onLoad,
		Options: []sdk.Option{},
	}
}

// labelValuesVar is a query variable over a label's values in Prometheus.
func labelValuesVar(name, label, query string, multi bool) sdk.TemplateVar {
	v := sdk.TemplateVar{
		Name:       name,
		Label:      label,
		Type:       "query",
		Datasource: datasource,
		Query:      query,
		Refresh:    onTimeRange, // models and features come and go
		Options:    []sdk.Option{},
		Sort:       1, // alphabetical
		Multi:      multi,
		IncludeAll: multi,
	}
	if multi {
		v.Current = sdk.Current{Value: []string{"$__all"}}
	}
	return v
}

// modelVar selects one model: every Model and Feature drift panel is about
// one model at a time.
func modelVar() sdk.TemplateVar {
	return labelValuesVar("model", "Model", "label_values(mlmon_model_info, model)", false)
}

// featureVar selects features of the model; All by default.
func featureVar() sdk.TemplateVar {
	return labelValuesVar("feature", "Feature", `label_values(mlmon_feature_psi{model="$model"}, feature)`, true)
}

// averageVar picks how class metrics are averaged (docs/metrics.md).
func averageVar() sdk.TemplateVar {
	var opts []sdk.Option
	for i, a := range []string{"macro", "weighted", "micro"} {
		opts = append(opts, sdk.Option{Text: a, Value: a, Selected: i == 0})
	}
	return sdk.TemplateVar{
		Name:    "average",
		Label:   "Average",
		Type:    "custom",
		Query:   "macro,weighted,micro",
		Refresh: onLoad,
		Options: opts,
		// The sdk writes a text as a list, which Grafana reads only for
		// multi-value variables: the value alone selects the option.
		Current: sdk.Current{Value: "macro"},
	}
}
