package stats

import (
	"math"
	"testing"
)

// multiclassRef is a reference of two classes, x and y, whose fits are
// constants (one score bucket each): rows predicted x are x with
// probability 0.75 and y with 0.25; rows predicted y are x with 0.2 and y
// with 0.6; no reference row was predicted any other class.
func multiclassRef() [][][]ScoreBucket {
	return [][][]ScoreBucket{
		{{{Score: 0.8, Positives: 3, Negatives: 1}}, {{Score: 0.2, Positives: 1, Negatives: 3}}},
		{{{Score: 0.3, Positives: 1, Negatives: 4}}, {{Score: 0.7, Positives: 3, Negatives: 2}}},
		{nil, nil},
	}
}

// multiclassCur: 10 rows predicted x (scores 0.8, 0.2), 4 predicted y
// (0.3, 0.7).
func multiclassCur() [][][]ScoreRows {
	return [][][]ScoreRows{
		{{{Score: 0.8, Rows: 10}}, {{Score: 0.2, Rows: 10}}},
		{{{Score: 0.3, Rows: 4}}, {{Score: 0.7, Rows: 4}}},
		{nil, nil},
	}
}

func TestExpectedMulticlassConfusion(t *testing.T) {
	classes, predicted := []string{"x", "y"}, []string{"x", "y", OtherCategory}
	fit := FitMulticlass(multiclassRef())
	got := ExpectedMulticlassConfusion(fit, multiclassCur(), classes, predicted)
	// Predicted x: e = (10·0.75, 10·0.25), sums to its 10 rows already.
	// Predicted y: e = (4·0.2, 4·0.6) = (0.8, 2.4), renormalised to 4 rows:
	// (1, 3).
	want := Confusion{"x": {"x": 7.5, "y": 1}, "y": {"x": 2.5, "y": 3}}
	for a, row := range want {
		for p, v := range row {
			if math.Abs(got[a][p]-v) > 1e-12 {
				t.Errorf("[%s][%s] = %v, want %v (matrix %v)", a, p, got[a][p], v, got)
			}
		}
	}
	if n := len(got["x"]) + len(got["y"]); n != 4 {
		t.Errorf("matrix %v: want no other cell", got)
	}
	if acc := Classify(got).Accuracy; math.Abs(acc-10.5/14) > 1e-12 {
		t.Errorf("accuracy %v, want 10.5/14", acc)
	}

	// Rows predicted a class the reference never predicted: no fit, no
	// estimate.
	cur := multiclassCur()
	cur[2] = [][]ScoreRows{{{Score: 0.5, Rows: 1}}, {{Score: 0.5, Rows: 1}}}
	if c := ExpectedMulticlassConfusion(fit, cur, classes, predicted); c != nil {
		t.Errorf("rows without a calibration: %v, want nil", c)
	}
	// A predicted class whose fits expect no class at all.
	ref := multiclassRef()
	ref[1] = [][]ScoreBucket{{{Score: 0.3, Negatives: 5}}, {{Score: 0.7, Negatives: 5}}}
	if c := ExpectedMulticlassConfusion(FitMulticlass(ref), multiclassCur(), classes, predicted); c != nil {
		t.Errorf("a predicted class expecting nothing: %v, want nil", c)
	}
	if c := ExpectedMulticlassConfusion(fit, multiclassCur()[:2], classes, predicted); c != nil {
		t.Errorf("mismatched inputs: %v, want nil", c)
	}
}

func TestExpectedMulticlassROCAUC(t *testing.T) {
	fit := FitMulticlass(multiclassRef())
	// Class x, ranked by its score: at 0.8 the 10 rows predicted x weigh
	// 7.5 positive and 2.5 negative; at 0.3 the 4 predicted y weigh 0.8
	// and 3.2. Class y: at 0.2, 2.5 and 7.5; at 0.7, 2.4 and 1.6.
	aucX := (7.5*(3.2+2.5/2) + 0.8*3.2/2) / ((7.5 + 0.8) * (2.5 + 3.2))
	aucY := (2.5*7.5/2 + 2.4*(7.5+1.6/2)) / ((2.5 + 2.4) * (7.5 + 1.6))
	if got, want := ExpectedMulticlassROCAUC(fit, multiclassCur(), 2), (aucX+aucY)/2; math.Abs(got-want) > 1e-12 {
		t.Errorf("expected AUC %v, want %v", got, want)
	}
	cur := multiclassCur()
	cur[2] = [][]ScoreRows{{{Score: 0.5, Rows: 1}}, {{Score: 0.5, Rows: 1}}}
	if got := ExpectedMulticlassROCAUC(fit, cur, 2); !math.IsNaN(got) {
		t.Errorf("rows without a calibration: %v, want NaN", got)
	}
}

func TestMulticlassROCAUC(t *testing.T) {
	// Three rows: predicted x, labelled x, scores (0.9, 0.1); predicted y,
	// labelled y, (0.4, 0.6); predicted x, labelled y, (0.95, 0.05).
	h := [][][]ScoreBucket{
		{{{Score: 0.9, Positives: 1}, {Score: 0.95, Negatives: 1}}, {{Score: 0.1, Negatives: 1}, {Score: 0.05, Positives: 1}}},
		{{{Score: 0.4, Negatives: 1}}, {{Score: 0.6, Positives: 1}}},
		{nil, nil},
	}
	// Class x: its positive 0.9 beats 0.4 and loses to 0.95: 1/2. Class y:
	// 0.6 beats 0.1, 0.05 loses to it: 1/2.
	if got := MulticlassROCAUC(h, 2); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("AUC %v, want 0.5", got)
	}
	h[1][1] = []ScoreBucket{{Score: 0.6, Negatives: 1}}
	h[0][1] = []ScoreBucket{{Score: 0.1, Negatives: 1}}
	if got := MulticlassROCAUC(h, 2); !math.IsNaN(got) {
		t.Errorf("a class without positives: %v, want NaN", got)
	}
}

func TestMulticlassCalibrationError(t *testing.T) {
	ref := multiclassRef()
	// The predicted class's score against being right: 4 rows at 0.8, 3
	// right (bin 8: |3.2 − 3|), 5 rows at 0.7, 3 right (bin 7: |3.5 − 3|).
	if got, want := MulticlassCalibrationError(ref, 2, false), 0.7/9; math.Abs(got-want) > 1e-12 {
		t.Errorf("raw %v, want %v", got, want)
	}
	// One distinct score per predicted class: nothing to cross-fit.
	if got := MulticlassCalibrationError(ref, 2, true); !math.IsNaN(got) {
		t.Errorf("calibrated %v, want NaN", got)
	}
}
