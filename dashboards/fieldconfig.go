package dashboards

import "github.com/grafana-tools/sdk"

// The sdk models timeseries and bar gauge panels as current Grafana does,
// but stat and table panels only in their pre-7 form (singlestat-era
// options, table "styles"), without fieldConfig: a unit set there would
// be lost. Stat and table panels are therefore sdk.CustomPanel values
// with the current JSON shapes below; sdk still decodes them (it reads
// their type, title, datasource and targets), which is what the tests do.

// fieldConfig is a current panel's fieldConfig.
type fieldConfig struct {
	Defaults  fieldDefaults `json:"defaults"`
	Overrides []override    `json:"overrides"`
}

type fieldDefaults struct {
	Unit       string               `json:"unit"`
	Decimals   *int                 `json:"decimals,omitempty"`
	Min        *float64             `json:"min,omitempty"`
	Max        *float64             `json:"max,omitempty"`
	Color      sdk.FieldConfigColor `json:"color"`
	Thresholds sdk.Thresholds       `json:"thresholds"`
	Mappings   []valueMapping       `json:"mappings,omitempty"`
	Links      []dataLink           `json:"links,omitempty"`
	Custom     map[string]any       `json:"custom,omitempty"`
}

// override changes properties of the fields a matcher selects.
type override struct {
	Matcher    matcher    `json:"matcher"`
	Properties []property `json:"properties"`
}

type matcher struct {
	ID      string `json:"id"`
	Options string `json:"options"`
}

type property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

// valueMapping turns values into text, e.g. 0/1 into down/up.
type valueMapping struct {
	Type    string                   `json:"type"`
	Options map[string]mappingResult `json:"options"`
}

type mappingResult struct {
	Text  string `json:"text"`
	Color string `json:"color"`
	Index int    `json:"index"`
}

// dataLink is a link on a value (a series, a table cell).
type dataLink struct {
	Title       string `json:"title"`
	URL         string `json:"url"`
	TargetBlank bool   `json:"targetBlank,omitempty"`
}

type reduceOptions struct {
	Calcs  []string `json:"calcs"`
	Fields string   `json:"fields"`
	Values bool     `json:"values"`
}

type statOptions struct {
	ColorMode     string        `json:"colorMode"`
	GraphMode     string        `json:"graphMode"`
	JustifyMode   string        `json:"justifyMode"`
	Orientation   string        `json:"orientation"`
	TextMode      string        `json:"textMode"`
	ReduceOptions reduceOptions `json:"reduceOptions"`
}

type tableOptions struct {
	ShowHeader bool     `json:"showHeader"`
	CellHeight string   `json:"cellHeight"`
	SortBy     []sortBy `json:"sortBy,omitempty"`
}

type sortBy struct {
	DisplayName string `json:"displayName"`
	Desc        bool   `json:"desc"`
}

// transformation is a Grafana data transformation (tables).
type transformation struct {
	ID      string `json:"id"`
	Options any    `json:"options"`
}

// merge joins the frames of several instant queries into one table, on
// their common label columns.
func merge() transformation { return transformation{ID: "merge", Options: map[string]any{}} }

// organize hides, renames and orders table columns; order lists the
// columns (by their new names' originals) left to right.
func organize(hide []string, rename map[string]string, order []string) transformation {
	exclude := map[string]bool{}
	for _, c := range hide {
		exclude[c] = true
	}
	index := map[string]int{}
	for i, c := range order {
		index[c] = i
	}
	return transformation{ID: "organize", Options: map[string]any{
		"excludeByName": exclude,
		"renameByName":  rename,
		"indexByName":   index,
	}}
}

// matrix pivots a table of (row, column, Value) into a matrix.
func matrix(rowField, columnField string) transformation {
	return transformation{ID: "groupingToMatrix", Options: map[string]any{
		"rowField":    rowField,
		"columnField": columnField,
		"valueField":  "Value",
	}}
}
