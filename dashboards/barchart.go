package dashboards

import (
	"github.com/grafana-tools/sdk"
)

// barchart is Grafana's bar chart over one instant table query whose rows
// are turned into a matrix: one bar group per row field value (x axis, in
// order), one bar per column field value.
func (p panel) barchart() *sdk.Panel {
	d := p.defaults("palette-classic")
	d.Custom = map[string]any{"fillOpacity": 80, "lineWidth": 1, "gradientMode": "none",
		"axisPlacement": "auto", "axisSoftMin": 0, "scaleDistribution": map[string]string{"type": "linear"}}
	custom := sdk.CustomPanel{
		"targets":     p.targets(true),
		"fieldConfig": fieldConfig{Defaults: d, Overrides: []override{}},
		"options": map[string]any{
			"orientation":        "auto",
			"xTickLabelRotation": -45,
			"xTickLabelSpacing":  0,
			"showValue":          "never",
			"stacking":           "none",
			"groupWidth":         0.7,
			"barWidth":           0.9,
			"barRadius":          0,
			"fullHighlight":      false,
			"legend":             map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": []string{}},
			"tooltip":            map[string]string{"mode": "multi", "sort": "none"},
		},
		"transformations": p.transformations,
	}
	if p.repeat != "" {
		custom["repeatDirection"] = "h"
		custom["maxPerRow"] = 2
	}
	for i := range custom["targets"].([]sdk.Target) {
		custom["targets"].([]sdk.Target)[i].Format = "table"
	}
	return &sdk.Panel{
		CommonPanel: sdk.CommonPanel{OfType: sdk.CustomType, Type: "barchart", Title: p.title},
		CustomPanel: &custom,
	}
}

// sortRows sorts a frame's rows by a field, ascending.
func sortRows(field string) transformation {
	return transformation{ID: "sortBy", Options: map[string]any{"fields": map[string]any{}, "sort": []map[string]any{{"field": field, "desc": false}}}}
}
