package collector

import (
	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/stats"
)

// A multiclass model with scores: gets the per-segment label-free estimate
// too: the whole model's calibrations (stats.FitMulticlass on the
// reference's labelled histograms, per predicted class, one-vs-rest)
// applied to the segment value's current rows, whose class score
// histograms ride in the drift window pass (chquery.Segments.ClassScores)
// at 1/chquery.SegmentScoreBuckets; the expected confusion matrix
// renormalised per predicted class, and its accuracy and macro F1, as the
// whole model's estimate computes them.

// segmentClassEstimator returns the label-free estimate of a segment
// value's class score histograms (nil when its expected confusion matrix
// is undefined), or nil when the model has no multiclass estimate or its
// reference has fewer than min_samples labelled rows with every score
// finite (the whole model's gate).
func (m *model) segmentClassEstimator() func(*chquery.ClassScoreCounts) *stats.ClassificationReport {
	ref := m.inputs.classReference
	if !m.estimatedMulticlass() || ref == nil || float64(ref.Rows) < float64(m.Settings.MinSamples) {
		return nil
	}
	fit := stats.FitMulticlass(ref.Hist)
	classes := m.ScoreClasses()
	predicted := append(append([]string{}, classes...), stats.OtherCategory)
	return func(h *chquery.ClassScoreCounts) *stats.ClassificationReport {
		conf := stats.ExpectedMulticlassConfusion(fit, h.Histograms(), classes, predicted)
		if conf == nil {
			return nil
		}
		rep := stats.Classify(conf)
		return &rep
	}
}
