package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// Label-free performance estimate (estimate.go): the current drift
// window's expected performance under the reference's calibration.
var (
	estimatedAccuracyDesc  = desc("estimated_accuracy_ratio", "Expected accuracy of the current window's predictions, estimated from their scores without labels.", "model")
	estimatedPrecisionDesc = desc("estimated_precision_ratio", "Expected precision averaged over classes, estimated from the current window's scores without labels.", "model", "average")
	estimatedRecallDesc    = desc("estimated_recall_ratio", "Expected recall averaged over classes, estimated from the current window's scores without labels.", "model", "average")
	estimatedF1Desc        = desc("estimated_f1_score", "Expected F1 score averaged over classes, estimated from the current window's scores without labels.", "model", "average")
	estimatedClassF1Desc   = desc("estimated_class_f1_score", "Expected F1 score of one class, estimated from the current window's scores without labels.", "model", "class")
	estimatedROCAUCDesc    = desc("estimated_roc_auc", "Expected ROC AUC of the current window's scores, each row a positive with its calibrated probability.", "model")
	calibrationErrorDesc   = desc("calibration_error", "Expected calibration error (10 equal-width bins) of the reference's labelled scores, raw or after isotonic calibration (cross-fitted).", "model", "stage")
	calibrationSamplesDesc = desc("calibration_samples", "Labelled reference rows with a score that the calibration of the label-free estimate rests on.", "model")
	labelsUntilDesc        = desc("labels_until_timestamp_seconds", "End of the performance window: predictions before it have realised metrics, later ones only the label-free estimate.", "model")
)

// The label-free performance estimate (confidence-based): labels arrive
// late, so the current drift window's performance is estimated from its
// scores. An isotonic regression of the label on the score, fitted on the
// reference window's labelled score histogram (the performance concern's
// cached join), turns each current score bucket into p̂, the probability
// that its rows are positive; the expected confusion matrix and ROC curve
// follow (stats.ExpectedConfusion, stats.ExpectedROCAUC). The current
// window's score histogram by predicted class comes from the drift
// concern's one pass over the window (chquery.Source.Scores): the estimate
// adds no query. It holds while P(label | score) is what it was in the
// reference: it follows covariate shift, not concept drift.

var estimateFamily = family{
	name: "estimate",
	descs: []*prometheus.Desc{estimatedAccuracyDesc, estimatedPrecisionDesc, estimatedRecallDesc, estimatedF1Desc,
		estimatedClassF1Desc, estimatedROCAUCDesc, calibrationErrorDesc, calibrationSamplesDesc, labelsUntilDesc},
	// The estimate runs no query: it reads what performance and drift read.
	queries: func(*config.Model) []string { return nil },
	collect: collectEstimate,
}

// estimateInputs are the aggregates the estimate reads, left by earlier
// concerns of the same scrape; nil when their query failed or the model has
// no estimate.
type estimateInputs struct {
	reference *chquery.Classification // the reference window's join with the labels
	current   *chquery.ScoreHistogram // the current window's scores by predicted class
	// A multiclass model's (scores:): the reference's labelled class score
	// histograms and the current window's unlabelled ones.
	classReference *chquery.ClassScores
	classCurrent   *chquery.ClassScoreCounts
}

// calibrated is whether the model's reference can be calibrated: a binary
// model with a score and labels, whose reference lies in the predictions
// table (a reference table has no join to the labels).
func calibrated(m *config.Model) bool {
	return m.Task == config.TaskBinary && m.Predictions.Score != "" && m.GroundTruth != nil &&
		m.Reference != nil && m.Reference.Kind != config.ReferenceTable
}

// estimated is whether the model's current window is estimated: calibrated,
// and its drift window is read from the predictions table (a
// pre-aggregation table holds no score histogram by predicted class).
func estimated(m *config.Model) bool {
	return calibrated(m) && m.Preaggregated == nil
}

// estimated is whether this scrape estimates the model's current window:
// the model is estimated, and its target does not leave the estimate out.
func (m *model) estimated() bool {
	return estimated(m.Model) && !m.scrape.target.withoutEstimate
}

// estimatedMulticlass is estimated for a multiclass model.
func (m *model) estimatedMulticlass() bool {
	return estimatedMulticlass(m.Model) && !m.scrape.target.withoutEstimate
}

// collectEstimate reports the calibration's quality and the estimate. Below
// min_samples labelled reference scores, or min_samples scored rows in the
// current window, the estimate is not emitted; mlmon_calibration_samples
// and mlmon_predictions say why.
func collectEstimate(_ context.Context, m *model) error {
	if calibratedMulticlass(m.Model) {
		m.collectMulticlassEstimate()
		return nil
	}
	ref := m.inputs.reference
	if !calibrated(m.Model) || ref == nil {
		return nil
	}
	minSamples := float64(m.Settings.MinSamples)
	m.out.gauge(calibrationSamplesDesc, ref.ScoreRows, m.Name)
	if ref.ScoreRows < minSamples {
		return nil
	}
	m.out.gauge(calibrationErrorDesc, stats.CalibrationError(ref.Scores), m.Name, "raw")
	m.out.gauge(calibrationErrorDesc, stats.CrossFittedCalibrationError(ref.Scores), m.Name, "calibrated")

	cur := m.inputs.current
	if cur == nil || float64(cur.Scored()) < minSamples {
		return nil
	}
	fit := stats.FitIsotonic(ref.Scores)
	buckets := cur.Buckets()
	negative := negativeClass(ref.Confusion, m.PositiveClass)
	conf := stats.ExpectedConfusion(fit, buckets, m.PositiveClass, negative)
	if conf == nil {
		return nil
	}
	rep := m.emitEstimatedClassification(conf)
	for _, class := range []string{m.PositiveClass, negative} {
		if cs, ok := rep.Classes[class]; ok {
			m.out.gauge(estimatedClassF1Desc, cs.F1, m.Name, class)
		}
	}
	m.out.gauge(estimatedROCAUCDesc, stats.ExpectedROCAUC(fit, buckets), m.Name)
	return nil
}

// emitEstimatedClassification reports the accuracy and averages of an
// expected confusion matrix, and returns its report; with them, where labels
// take over from the estimate (the model dashboard ends the estimate's line
// there).
func (m *model) emitEstimatedClassification(conf stats.Confusion) stats.ClassificationReport {
	m.out.gauge(labelsUntilDesc, float64(performanceWindow(m.Model, m.now()).To.Unix()), m.Name)
	rep := stats.Classify(conf)
	m.out.gauge(estimatedAccuracyDesc, rep.Accuracy, m.Name)
	for _, a := range []struct {
		name string
		avg  stats.Average
	}{{"macro", rep.Macro}, {"weighted", rep.Weighted}, {"micro", rep.Micro}} {
		m.out.gauge(estimatedPrecisionDesc, a.avg.Precision, m.Name, a.name)
		m.out.gauge(estimatedRecallDesc, a.avg.Recall, m.Name, a.name)
		m.out.gauge(estimatedF1Desc, a.avg.F1, m.Name, a.name)
	}
	return rep
}

// negativeClass names the class of every prediction other than the
// positive one: the reference's one other label (actual or predicted), or
// "__other__" when it has none or several.
func negativeClass(ref stats.Confusion, positive string) string {
	var others []string
	for _, l := range ref.Labels() {
		if l != positive {
			others = append(others, l)
		}
	}
	if len(others) == 1 {
		return others[0]
	}
	return stats.OtherCategory
}
