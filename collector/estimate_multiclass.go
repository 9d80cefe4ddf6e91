package collector

import (
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// A multiclass model with scores: (one probability column per class) gets
// the realised one-vs-rest ROC AUC of its labelled windows and the same
// label-free estimate as a binary model, calibrated one-vs-rest per class
// within each predicted class (stats.FitMulticlass). The labelled
// histograms ride in each window's classification join
// (chquery.Classification.ClassScores, cached with it for the reference);
// the current window's unlabelled ones ride in the drift pass
// (chquery.Source.ClassScores).

// classScored is whether a model's labelled windows get the class score
// histograms: multiclass, with scores and labels.
func classScored(m *config.Model) bool {
	return m.Task == config.TaskMulticlass && len(m.Scores) > 0 && m.GroundTruth != nil
}

// calibratedMulticlass is calibrated for a multiclass model: class scores,
// and a reference in the predictions table (which has labels to join).
func calibratedMulticlass(m *config.Model) bool {
	return classScored(m) && m.Reference != nil && m.Reference.Kind != config.ReferenceTable
}

// estimatedMulticlass is estimated for a multiclass model: its drift
// window is read from the predictions table.
func estimatedMulticlass(m *config.Model) bool {
	return calibratedMulticlass(m) && m.Preaggregated == nil
}

// emitClassScores reports a multiclass window's realised one-vs-rest macro
// ROC AUC, when every class has a positive and a negative labelled row.
func (m *model) emitClassScores(p perf, window string) {
	if p.classScores == nil {
		return
	}
	m.out.gauge(rocAUCDesc, stats.MulticlassROCAUC(p.classScores.Hist, len(m.Scores)), m.Name, window)
}

// collectMulticlassEstimate is collectEstimate for a multiclass model,
// with the same gates: min_samples labelled reference rows whose scores are
// all finite for the calibration errors, and min_samples such current rows
// for the estimate.
func (m *model) collectMulticlassEstimate() {
	ref := m.inputs.classReference
	if ref == nil {
		return
	}
	k := len(m.Scores)
	minSamples := float64(m.Settings.MinSamples)
	m.out.gauge(calibrationSamplesDesc, float64(ref.Rows), m.Name)
	if float64(ref.Rows) < minSamples {
		return
	}
	m.out.gauge(calibrationErrorDesc, stats.MulticlassCalibrationError(ref.Hist, k, false), m.Name, "raw")
	m.out.gauge(calibrationErrorDesc, stats.MulticlassCalibrationError(ref.Hist, k, true), m.Name, "calibrated")

	cur := m.inputs.classCurrent
	if cur == nil || float64(cur.Scored()) < minSamples {
		return
	}
	fit := stats.FitMulticlass(ref.Hist)
	hist := cur.Histograms()
	classes := m.ScoreClasses()
	predicted := append(append([]string{}, classes...), stats.OtherCategory)
	conf := stats.ExpectedMulticlassConfusion(fit, hist, classes, predicted)
	if conf == nil {
		return
	}
	rep := m.emitEstimatedClassification(conf)
	for _, class := range classes {
		if cs, ok := rep.Classes[class]; ok {
			m.out.gauge(estimatedClassF1Desc, cs.F1, m.Name, class)
		}
	}
	m.out.gauge(estimatedROCAUCDesc, stats.ExpectedMulticlassROCAUC(fit, hist, k), m.Name)
}
