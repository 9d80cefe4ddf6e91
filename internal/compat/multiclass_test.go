//go:build chdb

package compat

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

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

// classScores runs a multiclass window's labelled class score histograms
// (ClassScoresQuery) on both engines and in every join form, as the
// collector's joinLabels does beside the classification join, and emits
// the realised one-vs-rest ROC AUC.
func (e *env) classScores(t *testing.T, m *config.Model, src chquery.Source, name, window string, m18, mch *metrics) {
	q, err := chquery.ClassScoresQuery(m, src)
	if err != nil {
		t.Fatal(err)
	}
	q.Name = name
	o := e.compare(t, name+" class scores", q)
	fold := func(r *Result) chquery.ClassScores {
		d := dec{t, name + " class scores"}
		var keys, counts []uint64
		for _, row := range r.Rows {
			keys, counts = append(keys, d.u64(row[0])), append(counts, d.u64(row[1]))
		}
		cs, err := chquery.FoldClassScores(len(m.Scores), keys, counts)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	c18, cch := fold(o.r18), fold(o.rch)
	if o.orig18 != nil {
		// The seeded labels share no class's hash: the client reads by hash.
		got, err := e.client.ClassScores(e.ctx, m, src, name, m18.confusion[window].Labels())
		e.same(t, name+" class scores", got, fold(o.orig18), err)
	}
	for _, form := range append([]joinForm{{}}, joinForms...) {
		for _, build := range []func(*config.Model, chquery.Source) (chquery.Query, error){chquery.ClassScoresQuery, chquery.ClassScoresByNameQuery} {
			jq, err := build(m, form.apply(src))
			if err != nil {
				t.Fatal(err)
			}
			byName := strings.Contains(jq.SQL, "AS mlmon_label")
			jo := e.compare(t, fmt.Sprintf("%s class scores %s (by name: %v)", name, form, byName), jq)
			for engine, r := range map[string]*Result{"18.16": jo.r18, "chDB": jo.rch} {
				if d := diff(reflect.ValueOf(fold(r)), reflect.ValueOf(c18), name, Tolerance{}); d != "" {
					t.Errorf("%s class scores: the %s join (by name: %v) disagrees with one server's on %s: %s", name, form, byName, engine, d)
				}
			}
		}
	}
	for _, x := range []struct {
		mt *metrics
		cs chquery.ClassScores
	}{{m18, c18}, {mch, cch}} {
		x.mt.gauge(key("roc_auc", window), stats.MulticlassROCAUC(x.cs.Hist, len(m.Scores)))
		if window == "reference" {
			cs := x.cs
			x.mt.refClassScores = &cs
		}
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
