package rules

import "fmt"

// SegmentAccuracyDrop is reference minus current accuracy per segment value:
// positive when the segment got worse.
const SegmentAccuracyDrop = "model_segment:mlmon_segment_accuracy_drop:ratio"

// segmentLabeledGuard keeps thin segments from alerting; the exporter
// already leaves out the accuracy of a segment value below min_samples.
var segmentLabeledGuard = fmt.Sprintf("mlmon_segment_labeled_predictions >= %d", MinSamples)

// segmentsGroup compares each segment value's accuracy with the same value
// in the reference. Tier medium: a slice of the traffic got worse, which
// asks for a look, not a page (the whole model's accuracy pages). The
// alerts of one model share alertname and model, which Alertmanager groups
// by, so ten bad segments make one notification.
func segmentsGroup() Group {
	rs := []Rule{{
		Record: SegmentAccuracyDrop,
		Expr:   `mlmon_segment_accuracy_ratio{window="reference"} - ignoring (window) mlmon_segment_accuracy_ratio{window="current"}`,
	}}
	rs = append(rs, alerts(
		alert{
			name: "MLMonSegmentAccuracyDrop",
			tier: TierMedium,
			expr: guarded(above(SegmentAccuracyDrop, "segment_accuracy_drop_max", "segment", "segment_value"),
				segmentLabeledGuard),
			hold:        30 * minute,
			summary:     "A segment of a model's traffic lost accuracy against the same segment in the reference.",
			description: "The accuracy of model {{ $labels.model }} for {{ $labels.segment }}={{ $labels.segment_value }} is {{ $value | humanizePercentage }} (absolute) below the same segment in its reference window.",
		},
	)...)
	return Group{Name: "mlmon.segments", Rules: rs}
}
