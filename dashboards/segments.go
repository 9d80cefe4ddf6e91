package dashboards

import (
	"github.com/grafana-tools/sdk"

	"github.com/mlmon/mlmon/rules"
)

// thisSegment selects the board's model and segment.
const thisSegment = `model="$model", segment="$segment"`

// segmentVar selects one of the model's segments (docs/segments.md).
func segmentVar() sdk.TemplateVar {
	return labelValuesVar("segment", "Segment", `label_values(mlmon_segment_predictions{model="$model"}, segment)`, false)
}

// perSegmentValue is metric per value of the board's segment.
func perSegmentValue(metric, matchers string) string {
	sel := thisSegment
	if matchers != "" {
		sel += ", " + matchers
	}
	return "max by (segment_value) (" + metric + "{" + sel + "})"
}

// unitOf sets a table column's unit.
func unitOf(column, unit string) override {
	return override{Matcher: matcher{ID: "byName", Options: column}, Properties: []property{{ID: "unit", Value: unit}}}
}

// segmentPanels answer "which slice of the traffic got worse?" for the
// board's segment: each value's volume, accuracy, drop against the same
// value in the reference, and output drift.
func segmentPanels(b *board) {
	dropMax := ruleDefault("segment_accuracy_drop_max")
	b.row("Segments ($segment)")
	b.add(
		panel{
			title: "Segment values", kind: table, unit: "short", width: 24, height: 9, demo: demoClassifiers,
			description: "Each tracked value of the segment (the reference's most frequent; every other value and NULL are __other__): predictions in the current window, accuracy over the performance window, its drop against the same value in the reference (the segment alert watches it), and the PSI of the model's output within the value. Empty cells: fewer than min_samples rows.",
			queries: []query{
				{expr: "sort_desc(" + perSegmentValue("mlmon_segment_predictions", `window="current"`) + ")"},
				{expr: perSegmentValue("mlmon_segment_accuracy_ratio", `window="current"`)},
				{expr: perSegmentValue(rules.SegmentAccuracyDrop, "")},
				{expr: perSegmentValue("mlmon_segment_prediction_psi", "")},
			},
			transformations: []transformation{merge(), organize([]string{"Time"},
				map[string]string{"Value #A": "Predictions", "Value #B": "Accuracy", "Value #C": "Drop vs reference", "Value #D": "Prediction PSI"},
				[]string{"segment_value", "Value #A", "Value #B", "Value #C", "Value #D"})},
			thresholds: highIsBad(dropMax),
			overrides: []override{
				unitOf("Accuracy", "percentunit"), unitOf("Drop vs reference", "percentunit"),
				colorCells("Drop vs reference"),
			},
			sortBy: "Drop vs reference",
			links:  []sdk.Link{runbook("MLMonSegmentAccuracyDrop")},
		},
		panel{
			title: "Segment accuracy drop (reference − current)", kind: timeseries, unit: "percentunit", legendTable: true, thresholdLine: true, demo: demoClassifiers,
			description: "Per value of the segment: positive when it got worse than the same value in the reference. The segment alert fires above segment_accuracy_drop_max (default 0.10) for 30 minutes.",
			queries: []query{
				{expr: perSegmentValue(rules.SegmentAccuracyDrop, ""), legend: "{{segment_value}}"},
				modelThreshold("segment_accuracy_drop_max"),
			},
			thresholds: highIsBad(dropMax),
			links:      []sdk.Link{runbook("MLMonSegmentAccuracyDrop")},
		},
		panel{
			title: "Segment volume", kind: timeseries, unit: "short", min: ptr(0.0), legendTable: true,
			description: "Predictions per value of the segment in the current window: a value whose share jumps is new traffic.",
			queries:     []query{{expr: perSegmentValue("mlmon_segment_predictions", `window="current"`), legend: "{{segment_value}}"}},
		},
		panel{
			title: "Features by PSI within the segment's values", kind: table, unit: "short", width: 24, height: 9, demo: demoScored,
			description: "Segments with feature_drift: true only (docs/segments.md): each feature's PSI within each value of the segment, current window against the same value in the reference, binned as the whole model's feature PSI. Answers which input moved for the value whose accuracy dropped. No alert watches it (one per value and feature would be noise): the whole-model feature alerts and the segment accuracy alert lead here. Missing rows: fewer than min_samples values of the feature in the value.",
			queries: []query{
				{expr: "sort_desc(max by (segment_value, feature) (mlmon_segment_feature_psi{" + thisSegment + "}))"},
			},
			transformations: []transformation{organize([]string{"Time"},
				map[string]string{"Value": "PSI", "segment_value": "Segment value", "feature": "Feature"},
				[]string{"segment_value", "feature", "Value"})},
			thresholds: highIsBad(ruleDefault("psi_max")),
			overrides:  []override{colorCells("PSI")},
			sortBy:     "PSI",
			links:      []sdk.Link{runbook("MLMonSegmentAccuracyDrop")},
		},
	)
}
