//go:build chdb

package compat

import (
	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// classCount is the number of class score columns a window query over src
// reads (Source.ClassScores), as chquery.Client.Window counts them.
func classCount(m *config.Model, src chquery.Source) int {
	if src.ClassScores {
		return len(m.Scores)
	}
	return 0
}

// estimatedMulticlass is collector/estimate_multiclass.go's: a multiclass
// model with scores, labels and a reference in the predictions table, whose
// drift window is read from the predictions table.
func estimatedMulticlass(m *config.Model) bool {
	return m.Task == config.TaskMulticlass && len(m.Scores) > 0 && m.GroundTruth != nil &&
		m.Reference != nil && m.Reference.Kind != config.ReferenceTable && m.Preaggregated == nil
}

// emitClassScores emits a multiclass window's realised one-vs-rest ROC AUC
// from the labelled class score histograms of its classification join (the
// join forms' agreement is checked with the rest of the join's aggregate),
// and keeps the reference's for the estimate.
func emitClassScores(m *config.Model, window string, mt *metrics, cs *chquery.ClassScores) {
	if cs == nil {
		return
	}
	mt.gauge(key("roc_auc", window), stats.MulticlassROCAUC(cs.Hist, len(m.Scores)))
	if window == "reference" {
		mt.refClassScores = cs
	}
}

// emitMulticlassEstimate is the heart of collector/estimate_multiclass.go.
func emitMulticlassEstimate(mt *metrics, m *config.Model, cur *chquery.ClassScoreCounts) {
	ref := mt.refClassScores
	if ref == nil || cur == nil {
		return
	}
	k := len(m.Scores)
	fit := stats.FitMulticlass(ref.Hist)
	hist := cur.Histograms()
	classes := m.ScoreClasses()
	conf := stats.ExpectedMulticlassConfusion(fit, hist, classes, append(append([]string{}, classes...), stats.OtherCategory))
	if conf != nil {
		rep := stats.Classify(conf)
		mt.gauge("estimated_accuracy", rep.Accuracy)
		mt.gauge(key("estimated_f1", "macro"), rep.Macro.F1)
	}
	mt.gauge("estimated_roc_auc", stats.ExpectedMulticlassROCAUC(fit, hist, k))
	mt.gauge(key("calibration_error", "raw"), stats.MulticlassCalibrationError(ref.Hist, k, false))
	mt.gauge(key("calibration_error", "calibrated"), stats.MulticlassCalibrationError(ref.Hist, k, true))
}
