package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana-tools/sdk"
)

// kind is a panel type.
type kind int

const (
	timeseries kind = iota
	stat
	table
	bargauge
	barchart // barchart.go
)

// datasource is every panel's and every target's data source: the board's
// datasource variable, so one dashboard serves any Prometheus.
var datasource = map[string]string{"type": "prometheus", "uid": "${datasource}"}

// query is one target of a panel.
type query struct {
	expr   string
	legend string
}

// panel describes one panel; build turns it into an sdk.Panel.
type panel struct {
	title       string
	description string
	kind        kind
	unit        string
	min, max    *float64
	thresholds  steps // default noThreshold
	queries     []query
	width       int // grid columns of 24; default 12
	height      int // grid rows; default 8

	links     []sdk.Link // panel links: runbooks, other dashboards
	dataLinks []dataLink // links on each series or cell
	// legendTable shows a table legend on the right with the last and
	// maximum values: panels with a series per feature or class.
	legendTable bool
	// thresholdLine draws the thresholds on a timeseries.
	thresholdLine bool

	mappings        []valueMapping   // stat
	textMode        string           // stat: "auto" (default), "name", "value_and_name"
	transformations []transformation // table
	overrides       []override       // table
	sortBy          string           // table: column sorted descending

	// repeat is the variable a panel is repeated for, one panel per
	// selected value.
	repeat string

	// demo lists the demo models (deploy/local/mlmon.yml) for which the
	// panel must show data on a board with a model variable; nil means
	// every demo model. Tests read it; it is not part of the JSON.
	demo []string
}

// The demo models by what they exercise.
var (
	demoClassifiers = []string{"churn", "intent"}
	demoScored      = []string{"churn"}           // binary with a score
	demoEstimated   = []string{"churn", "intent"} // a label-free estimate: binary with a score, multiclass with scores:
	demoRegression  = []string{"eta"}
)

func (p panel) size() (w, h int) {
	w, h = p.width, p.height
	if w == 0 {
		w = 12
	}
	if h == 0 {
		h = 8
	}
	return w, h
}

func (p panel) targets(instant bool) []sdk.Target {
	var ts []sdk.Target
	for i, q := range p.queries {
		t := sdk.Target{
			RefID:        string(rune('A' + i)),
			Datasource:   datasource,
			Expr:         q.expr,
			LegendFormat: q.legend,
			Instant:      instant,
		}
		if p.kind == table {
			t.Format = "table"
		}
		ts = append(ts, t)
	}
	return ts
}

func (p panel) thresholdSteps() steps {
	if p.thresholds == nil {
		return noThreshold()
	}
	return p.thresholds
}

// build returns the sdk panel with its ID and grid position.
func (p panel) build(id uint, x, y int) (*sdk.Panel, error) {
	if p.title == "" || p.unit == "" || len(p.queries) == 0 {
		return nil, fmt.Errorf("panel %d %q: a title, a unit and a query are required", id, p.title)
	}
	var sp *sdk.Panel
	switch p.kind {
	case timeseries:
		sp = p.timeseries()
	case bargauge:
		sp = p.bargauge()
	case stat:
		sp = p.stat()
	case table:
		sp = p.table()
	case barchart:
		sp = p.barchart()
	default:
		return nil, fmt.Errorf("panel %q: unknown kind %d", p.title, p.kind)
	}
	w, h := p.size()
	sp.ID = id
	sp.Datasource = datasource
	sp.IsNew = false
	sp.Span = 0
	sp.Renderer = nil
	sp.GridPos.X, sp.GridPos.Y, sp.GridPos.W, sp.GridPos.H = &x, &y, &w, &h
	if p.description != "" {
		sp.Description = ptr(strings.TrimSpace(p.description))
	}
	sp.Links = p.links
	if p.repeat != "" {
		sp.Repeat = ptr(p.repeat)
	}
	return sp, nil
}

// seriesStyle is the look of timeseries lines. Every key is set: Grafana
// fills in defaults only for keys that are absent, and the sdk writes them
// all, empty strings included.
func (p panel) seriesStyle() sdk.FieldConfigCustom {
	var c sdk.FieldConfigCustom
	c.AxisPlacement = "auto"
	c.DrawStyle = "line"
	c.FillOpacity = 10
	c.GradientMode = "none"
	c.LineInterpolation = "linear"
	c.LineWidth = 1
	c.PointSize = 5
	c.ShowPoints = "never"
	c.LineStyle.Fill = "solid"
	c.ScaleDistribution.Type = "linear"
	c.Stacking.Group = "A"
	c.Stacking.Mode = "none"
	c.ThresholdsStyle.Mode = "off"
	if p.thresholdLine {
		c.ThresholdsStyle.Mode = "dashed"
	}
	return c
}

func (p panel) timeseries() *sdk.Panel {
	sp := sdk.NewTimeseries(p.title)
	legend := sdk.TimeseriesLegendOptions{Calcs: []string{}, DisplayMode: "list", Placement: "bottom"}
	if p.legendTable {
		legend = sdk.TimeseriesLegendOptions{Calcs: []string{"lastNotNull", "max"}, DisplayMode: "table", Placement: "right"}
	}
	sp.TimeseriesPanel.Options = sdk.TimeseriesOptions{
		Legend:  legend,
		Tooltip: sdk.TimeseriesTooltipOptions{Mode: "multi"},
	}
	sp.TimeseriesPanel.Targets = p.targets(false)
	sp.TimeseriesPanel.FieldConfig = sdk.FieldConfig{Defaults: sdk.FieldConfigDefaults{
		Unit:       p.unit,
		Min:        p.min,
		Max:        p.max,
		Color:      sdk.FieldConfigColor{Mode: "palette-classic"},
		Thresholds: p.thresholdSteps().sdk(),
		Custom:     p.seriesStyle(),
		Links:      sdkLinks(p.dataLinks),
	}}
	return sp
}

func (p panel) bargauge() *sdk.Panel {
	var opts sdk.Options
	opts.Orientation = "horizontal"
	opts.DisplayMode = "gradient"
	opts.ReduceOptions.Calcs = []string{"lastNotNull"}
	return &sdk.Panel{
		CommonPanel: sdk.CommonPanel{OfType: sdk.BarGaugeType, Type: "bargauge", Title: p.title},
		BarGaugePanel: &sdk.BarGaugePanel{
			Options: opts,
			Targets: p.targets(true),
			FieldConfig: sdk.FieldConfig{Defaults: sdk.FieldConfigDefaults{
				Unit:       p.unit,
				Min:        p.min,
				Max:        p.max,
				Color:      sdk.FieldConfigColor{Mode: "thresholds"},
				Thresholds: p.thresholdSteps().sdk(),
				Custom:     p.seriesStyle(),
				Links:      sdkLinks(p.dataLinks),
			}},
		},
	}
}

// sdkLinks converts data links to the sdk's link type, which timeseries
// and bar gauge field configs use.
func sdkLinks(ls []dataLink) []sdk.Link {
	var out []sdk.Link
	for _, l := range ls {
		out = append(out, sdk.Link{Title: l.Title, URL: ptr(l.URL), TargetBlank: ptr(l.TargetBlank)})
	}
	return out
}

func (p panel) defaults(colorMode string) fieldDefaults {
	return fieldDefaults{
		Unit:       p.unit,
		Min:        p.min,
		Max:        p.max,
		Color:      sdk.FieldConfigColor{Mode: colorMode},
		Thresholds: p.thresholdSteps().sdk(),
		Mappings:   p.mappings,
		Links:      p.dataLinks,
	}
}

func (p panel) stat() *sdk.Panel {
	textMode := p.textMode
	if textMode == "" {
		textMode = "auto"
	}
	return &sdk.Panel{
		CommonPanel: sdk.CommonPanel{OfType: sdk.CustomType, Type: "stat", Title: p.title},
		CustomPanel: &sdk.CustomPanel{
			"targets":     p.targets(false),
			"fieldConfig": fieldConfig{Defaults: p.defaults("thresholds"), Overrides: []override{}},
			"options": statOptions{
				ColorMode:     "value",
				GraphMode:     "area",
				JustifyMode:   "auto",
				Orientation:   "auto",
				TextMode:      textMode,
				ReduceOptions: reduceOptions{Calcs: []string{"lastNotNull"}},
			},
		},
	}
}

func (p panel) table() *sdk.Panel {
	opts := tableOptions{ShowHeader: true, CellHeight: "sm"}
	if p.sortBy != "" {
		opts.SortBy = []sortBy{{DisplayName: p.sortBy, Desc: true}}
	}
	overrides := p.overrides
	if overrides == nil {
		overrides = []override{}
	}
	d := p.defaults("thresholds")
	d.Custom = map[string]any{"align": "auto", "cellOptions": map[string]string{"type": "auto"}}
	custom := sdk.CustomPanel{
		"targets":     p.targets(true),
		"fieldConfig": fieldConfig{Defaults: d, Overrides: overrides},
		"options":     opts,
	}
	if len(p.transformations) > 0 {
		custom["transformations"] = p.transformations
	}
	return &sdk.Panel{
		CommonPanel: sdk.CommonPanel{OfType: sdk.CustomType, Type: "table", Title: p.title},
		CustomPanel: &custom,
	}
}

// colorCells colours a table column's cells by the panel's thresholds.
func colorCells(column string) override {
	return override{
		Matcher:    matcher{ID: "byName", Options: column},
		Properties: []property{{ID: "custom.cellOptions", Value: map[string]string{"type": "color-text"}}},
	}
}

// upDown maps 0/1 health gauges to words.
var upDown = []valueMapping{{Type: "value", Options: map[string]mappingResult{
	"0": {Text: "down", Color: red, Index: 0},
	"1": {Text: "up", Color: green, Index: 1},
}}}

// okFailing maps a per-model success gauge to words.
var okFailing = []valueMapping{{Type: "value", Options: map[string]mappingResult{
	"0": {Text: "failing", Color: red, Index: 0},
	"1": {Text: "OK", Color: green, Index: 1},
}}}
