package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// Segments: the model's metrics per value of a segment column. Separate
// families, so that no sum or count over a whole-model metric changes when
// segments are configured.
var (
	segmentPredictionsDesc       = desc("segment_predictions", "Predictions of the window whose segment column holds the value (drift window; reference).", "model", "segment", "segment_value", "window")
	segmentLabeledDesc           = desc("segment_labeled_predictions", "Predictions of the performance window with the segment value that have a label.", "model", "segment", "segment_value")
	segmentAccuracyDesc          = desc("segment_accuracy_ratio", "Accuracy of the segment value's labeled predictions.", "model", "segment", "segment_value", "window")
	segmentF1Desc                = desc("segment_f1_score", "F1 score of the segment value's labeled predictions, averaged over classes (scikit-learn's definitions; undefined classes left out).", "model", "segment", "segment_value", "window", "average")
	segmentMAEDesc               = desc("segment_mae", "Mean absolute error of the segment value's labeled predictions (regression).", "model", "segment", "segment_value", "window")
	segmentRMSEDesc              = desc("segment_rmse", "Root mean squared error of the segment value's labeled predictions (regression).", "model", "segment", "segment_value", "window")
	segmentEstimatedAccuracyDesc = desc("segment_estimated_accuracy_ratio", "Expected accuracy of the current window's predictions with the segment value, estimated from their scores without labels (the model's calibration).", "model", "segment", "segment_value")
	segmentEstimatedF1Desc       = desc("segment_estimated_f1_score", "Expected F1 score of the current window's predictions with the segment value, averaged over classes, estimated from their scores without labels (the model's calibration).", "model", "segment", "segment_value", "average")
	segmentFeaturePSIDesc        = desc("segment_feature_psi", "Population stability index of the feature within the segment value, current window against the same value in the reference (segments with feature_drift).", "model", "segment", "segment_value", "feature")
	segmentPredictionPSIDesc     = desc("segment_prediction_psi", "Population stability index of the model's output within the segment value, current window against the same value in the reference.", "model", "segment", "segment_value")
)

var segmentsFamily = family{
	name: "segments",
	descs: []*prometheus.Desc{segmentPredictionsDesc, segmentLabeledDesc, segmentAccuracyDesc, segmentF1Desc,
		segmentMAEDesc, segmentRMSEDesc, segmentPredictionPSIDesc, segmentEstimatedAccuracyDesc,
		segmentEstimatedF1Desc, segmentFeaturePSIDesc},
	// No query of its own: the segment values come with the reference, and
	// the counts ride in the drift window pass and the performance joins.
	queries: func(*config.Model) []string { return nil },
	collect: collectSegments,
}

// segmentInputs are what the performance and drift families learned about
// the model's segments in this scrape; nil fields were not computed.
type segmentInputs struct {
	ref         *reference
	current     [][]chquery.SegmentWindow
	performance map[string]perf // by window
}

// segmentValues lists each segment's tracked values: the reference's
// max_values most frequent (ties by value), NULL left out, so that it
// falls into "__other__" with every other value. Output is the index of
// the model's output among the reference's columns (driftColumns puts it
// last).
func (r *References) segmentValues(ctx context.Context, m *config.Model, src chquery.Source, cols []driftColumn) (*chquery.Segments, error) {
	if len(m.Segments) == 0 {
		return nil, nil
	}
	// A multiclass model's estimate per segment value: its class score
	// histograms in the current window's pass (segments_multiclass.go).
	segs := &chquery.Segments{Output: -1, ClassScores: estimatedMulticlass(m)}
	for i, c := range cols {
		if c.feature == "" {
			segs.Output = i
		}
	}
	for _, s := range m.Segments {
		cats, err := r.client.Categories(ctx, m, src, s.Column, s.MaxValues)
		if err != nil {
			return nil, err
		}
		seg := chquery.Segment{Column: s.Column, Values: []string{}, Features: s.FeatureDrift}
		for _, c := range cats {
			seg.Values = append(seg.Values, c.Value)
		}
		segs.Columns = append(segs.Columns, seg)
	}
	return segs, nil
}

// segmentReference returns the model's cached reference when the model has
// segments and a reference has been computed, without starting or waiting
// for a computation (the drift family does that, as without segments): a
// join before the reference's first computation runs without segments. It
// writes nothing to the model: the performance family calls it while the
// drift family, which runs at the same time, sets m.segments.ref.
func (m *model) segmentReference(ctx context.Context) *reference {
	if len(m.Segments) == 0 || m.Reference == nil {
		return nil
	}
	if m.references().history {
		// A backfill keeps no scrape deadline: each step waits for the
		// reference (computed once per window), so that no step is written
		// without its segments or its reference performance.
		ref, err := m.references().get(ctx, m.Model, m.now())
		if err != nil || ref.segments == nil {
			return nil
		}
		return ref
	}
	// The key the drift family's reference is cached under (per window
	// when a backfill evaluates a rolling reference at past times).
	key, _ := m.references().entry(m.Model, referenceWindow(m.Model, m.now()), 0)
	ref, ok := m.references().stats.peek(key)
	if !ok || ref.segments == nil {
		return nil
	}
	return ref
}

// segmentColumns are the segment values the performance joins count, nil
// when the model has none or they are not known yet.
func (m *model) segmentColumns(ctx context.Context) *chquery.Segments {
	if ref := m.segmentReference(ctx); ref != nil {
		return ref.segments
	}
	return nil
}

// collectSegments reports, for each segment value, the volume of the drift
// window and the reference, the quality of the performance window and of
// the reference, and the drift of the output against the same value in the
// reference. Counts are reported whenever their pass succeeded; ratios need
// min_samples rows of the segment value.
func collectSegments(_ context.Context, m *model) error {
	ref := m.segments.ref
	if ref == nil || ref.segments == nil {
		return nil
	}
	minSamples := uint64(m.Settings.MinSamples)
	estimate, classEstimate := m.segmentEstimator(), m.segmentClassEstimator()
	for j, s := range m.Segments {
		spec := ref.segments.Columns[j]
		for v := range spec.Slots() {
			value := spec.SlotValue(v)
			var refW, curW *chquery.SegmentWindow
			if ref.stats.Segments != nil {
				refW = &ref.stats.Segments[j][v]
				m.out.gauge(segmentPredictionsDesc, float64(refW.Rows), m.Name, s.Name, value, windowReference)
			}
			if cur := m.segments.current; cur != nil {
				curW = &cur[j][v]
				m.out.gauge(segmentPredictionsDesc, float64(curW.Rows), m.Name, s.Name, value, windowCurrent)
			}
			if refW != nil && curW != nil && ref.segments.Output >= 0 {
				m.emitSegmentDrift(s.Name, value, refW.Output, curW.Output)
			}
			if refW != nil && curW != nil && spec.Features {
				m.emitSegmentFeatureDrift(ref, s.Name, value, refW.Columns, curW.Columns)
			}
			if curW != nil && curW.Scores != nil && estimate != nil && curW.Scores.Scored() >= minSamples {
				m.emitSegmentEstimate(s.Name, value, estimate(curW.Scores))
			}
			if curW != nil && curW.ClassScores != nil && classEstimate != nil && curW.ClassScores.Scored() >= minSamples {
				m.emitSegmentEstimate(s.Name, value, classEstimate(curW.ClassScores))
			}
		}
		for _, window := range []string{windowCurrent, windowReference} {
			p, ok := m.segments.performance[window]
			if !ok {
				continue
			}
			for v, sl := range p.segmentLabels(j, s) {
				if window == windowCurrent {
					m.out.gauge(segmentLabeledDesc, float64(sl.Labeled), m.Name, s.Name, v)
				}
				if sl.Labeled < minSamples {
					continue
				}
				m.emitSegmentPerformance(s.Name, v, window, sl)
			}
		}
	}
	return nil
}

// segmentLabels are the performance join's counts of segment j by value,
// named by the segment values the join ran with (a rolling reference's
// values may have changed since).
func (p perf) segmentLabels(j int, s config.Segment) map[string]chquery.SegmentLabels {
	if p.segments == nil || j >= len(p.segments.Columns) || p.segments.Columns[j].Column != s.Column {
		return nil
	}
	var labels [][]chquery.SegmentLabels
	if p.regression != nil {
		labels = p.regression.Segments
	} else if p.classification != nil {
		labels = p.classification.Segments
	}
	if labels == nil {
		return nil
	}
	out := map[string]chquery.SegmentLabels{}
	spec := p.segments.Columns[j]
	for v := range spec.Slots() {
		out[spec.SlotValue(v)] = labels[j][v]
	}
	return out
}

func (m *model) emitSegmentPerformance(segment, value, window string, sl chquery.SegmentLabels) {
	if m.Task == config.TaskRegression {
		if sl.Sums.N < float64(m.Settings.MinSamples) {
			return
		}
		rep := stats.Regress(sl.Sums)
		m.out.gauge(segmentMAEDesc, rep.MAE, m.Name, segment, value, window)
		m.out.gauge(segmentRMSEDesc, rep.RMSE, m.Name, segment, value, window)
		return
	}
	rep := stats.Classify(sl.Confusion)
	m.out.gauge(segmentAccuracyDesc, rep.Accuracy, m.Name, segment, value, window)
	m.out.gauge(segmentF1Desc, rep.Macro.F1, m.Name, segment, value, window, "macro")
}

// emitSegmentDrift compares the output's bins within one segment value,
// when both windows have min_samples rows with an output.
func (m *model) emitSegmentDrift(segment, value string, ref, cur chquery.ColumnStats) {
	r, c := floats(ref.Bins), floats(cur.Bins)
	if sum(r) < float64(m.Settings.MinSamples) || sum(c) < float64(m.Settings.MinSamples) {
		return
	}
	m.out.gauge(segmentPredictionPSIDesc, stats.PSI(r, c), m.Name, segment, value)
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// addPerformance keeps a window's join for the segments family.
func (s *segmentInputs) addPerformance(window string, p perf) {
	if p.segments == nil {
		return
	}
	if s.performance == nil {
		s.performance = map[string]perf{}
	}
	s.performance[window] = p
}

// segmentsNoWait is the context a segmented model's scrape waits for its
// reference join with: none at all. That join's first computation starts
// only once the segment values are known, in a scrape whose drift window
// still needs the scrape's time; waiting for the join would leave it none.
// The join serves the next scrape.
func (m *model) segmentsNoWait(ctx context.Context) context.Context {
	if len(m.Segments) == 0 || m.references().history {
		return ctx
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	return done
}

// segmentEstimator returns the label-free estimate of a score histogram
// under the model's calibration (the expected confusion matrix's report, as
// collectEstimate computes the whole window's; nil when it has none), or
// nil when the model has no estimate or its reference has fewer than
// min_samples labelled scores.
func (m *model) segmentEstimator() func(*chquery.ScoreHistogram) *stats.ClassificationReport {
	ref := m.inputs.reference
	if !m.estimated() || ref == nil || ref.ScoreRows < float64(m.Settings.MinSamples) {
		return nil
	}
	fit := stats.FitIsotonic(ref.Scores)
	negative := negativeClass(ref.Confusion, m.PositiveClass)
	return func(h *chquery.ScoreHistogram) *stats.ClassificationReport {
		conf := stats.ExpectedConfusion(fit, h.Buckets(), m.PositiveClass, negative)
		if conf == nil {
			return nil
		}
		rep := stats.Classify(conf)
		return &rep
	}
}

// emitSegmentEstimate reports a segment value's label-free estimate: the
// expected accuracy and macro F1 (the whole model's estimate reports both
// the same way, from the same expected confusion matrix).
func (m *model) emitSegmentEstimate(segment, value string, rep *stats.ClassificationReport) {
	if rep == nil {
		return
	}
	m.out.gauge(segmentEstimatedAccuracyDesc, rep.Accuracy, m.Name, segment, value)
	m.out.gauge(segmentEstimatedF1Desc, rep.Macro.F1, m.Name, segment, value, "macro")
}

// emitSegmentFeatureDrift compares each feature's bins within one segment
// value, current window against the same value in the reference, when both
// have min_samples rows where the feature is present (as emitColumn does
// for the whole model). The bins are the whole model's: the reference's
// edges and top categories.
func (m *model) emitSegmentFeatureDrift(ref *reference, segment, value string, refCols, curCols []chquery.ColumnStats) {
	if refCols == nil || curCols == nil {
		return
	}
	minSamples := float64(m.Settings.MinSamples)
	for i, col := range ref.columns {
		if col.feature == "" || i >= len(refCols) || i >= len(curCols) || refCols[i].Bins == nil || curCols[i].Bins == nil {
			continue
		}
		r, c := floats(refCols[i].Bins), floats(curCols[i].Bins)
		if sum(r) < minSamples || sum(c) < minSamples {
			continue
		}
		m.out.gauge(segmentFeaturePSIDesc, stats.PSI(r, c), m.Name, segment, value, col.feature)
	}
}
