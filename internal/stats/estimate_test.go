package stats

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"
)

// The small fit worked by hand: rows (score, label, weight) (0.1, 1, 1),
// (0.2, 0, 1), (0.2, 0, 1), (0.3, 1, 2), (0.5, 0, 2), (0.7, 1, 1). Pooling
// 0.2 gives (0.2, 0, 2); 0.1's 1 > 0.2's 0 pools them to 1/3 (weight 3);
// 0.3's 1 > 0.5's 0 pools them to 2/4 = 1/2; 1/3 ≤ 1/2 ≤ 1 stands. The
// fitted points are (0.1, 1/3), (0.2, 1/3), (0.3, 1/2), (0.5, 1/2),
// (0.7, 1); scikit-learn's IsotonicRegression gives the same
// (X_thresholds_, y_thresholds_).
func smallFit() Isotonic {
	return FitIsotonic([]ScoreBucket{
		{Score: 0.5, Negatives: 2}, // unsorted on purpose
		{Score: 0.1, Positives: 1},
		{Score: 0.2, Negatives: 1},
		{Score: 0.3, Positives: 2},
		{Score: 0.2, Negatives: 1}, // a second bucket at 0.2 pools
		{Score: 0.7, Positives: 1},
		{Score: 0.9}, // empty: ignored, so 0.7 stays the last point
	})
}

func TestIsotonicPredict(t *testing.T) {
	f := smallFit()
	if f.Points() != 5 {
		t.Errorf("Points = %d, want 5", f.Points())
	}
	for _, tc := range []struct{ s, want float64 }{
		{-1, 1.0 / 3},  // clipped below
		{0.1, 1.0 / 3}, // a fitted point
		{0.15, 1.0 / 3},
		{0.25, 1.0/3 + 0.5*(1.0/2-1.0/3)}, // halfway between 1/3 and 1/2
		{0.4, 0.5},
		{0.6, 0.75}, // halfway between 1/2 and 1
		{0.7, 1},
		{0.9, 1}, // clipped above
		{math.NaN(), nan},
	} {
		checkFloat(t, "Predict", f.Predict(tc.s), tc.want)
	}
}

func TestIsotonicDegenerate(t *testing.T) {
	checkFloat(t, "empty fit", FitIsotonic(nil).Predict(0.5), nan)
	checkFloat(t, "NaN score", FitIsotonic([]ScoreBucket{{Score: nan, Positives: 1}}).Predict(0.5), nan)
	checkFloat(t, "negative count", FitIsotonic([]ScoreBucket{{Score: 0.5, Positives: -1, Negatives: 3}}).Predict(0.5), nan)
	// One distinct score: a constant, the positive rate.
	one := FitIsotonic([]ScoreBucket{{Score: 0.4, Positives: 1, Negatives: 3}})
	checkFloat(t, "single point below", one.Predict(0), 0.25)
	checkFloat(t, "single point above", one.Predict(1), 0.25)
	// Decreasing rates pool into one block: the overall rate, 3/6.
	dec := FitIsotonic([]ScoreBucket{{Score: 0.1, Positives: 2}, {Score: 0.5, Positives: 1, Negatives: 1}, {Score: 0.9, Negatives: 2}})
	checkFloat(t, "decreasing", dec.Predict(0.7), 0.5)
}

func TestCalibrationError(t *testing.T) {
	// Bin [0.1, 0.2): 4 rows at 0.1 and 0.15 (mean 0.125), 1 positive
	// (rate 0.25): |0.125 − 0.25| = 0.125. Bin [0.9, 1]: 4 rows at 1.0
	// (clipped from 1.2 for two), 2 positive: |1 − 0.5| = 0.5. ECE =
	// 4/8·0.125 + 4/8·0.5 = 0.3125.
	b := []ScoreBucket{
		{Score: 0.1, Positives: 1, Negatives: 1},
		{Score: 0.15, Negatives: 2},
		{Score: 1.0, Positives: 1, Negatives: 1},
		{Score: 1.2, Positives: 1, Negatives: 1},
	}
	checkFloat(t, "ECE", CalibrationError(b), 0.3125)
	checkFloat(t, "ECE of nothing", CalibrationError(nil), nan)
	// In-sample, an isotonic fit is calibrated exactly.
	f := smallFit()
	ref := []ScoreBucket{{Score: 0.1, Positives: 1}, {Score: 0.2, Negatives: 2}, {Score: 0.3, Positives: 2}, {Score: 0.5, Negatives: 2}, {Score: 0.7, Positives: 1}}
	checkFloat(t, "in-sample ECE", CalibrationError(f.Calibrated(ref)), 0)
	checkFloat(t, "cross-fitted, one score", CrossFittedCalibrationError([]ScoreBucket{{Score: 0.3, Positives: 1, Negatives: 1}}), nan)
}

func TestExpectedConfusionByHand(t *testing.T) {
	f := smallFit()
	// p̂(0.6) = 0.75 for 4 rows predicted positive, p̂(0.1) = 1/3 for 3
	// rows predicted negative: TP = 3, FP = 1, FN = 1, TN = 2.
	cur := []PredictedScoreBucket{{Score: 0.6, PredictedPositive: 4}, {Score: 0.1, PredictedNegative: 3}}
	c := ExpectedConfusion(f, cur, "yes", "no")
	checkFloat(t, "TP", c["yes"]["yes"], 3)
	checkFloat(t, "FN", c["yes"]["no"], 1)
	checkFloat(t, "FP", c["no"]["yes"], 1)
	checkFloat(t, "TN", c["no"]["no"], 2)
	rep := Classify(c)
	checkFloat(t, "accuracy", rep.Accuracy, 5.0/7)
	// Positives at 0.6 weigh 3, at 0.1 weigh 1; negatives 1 and 2. Pairs
	// won: positives at 0.6 over negatives at 0.1, 3·2 = 6, plus half the
	// ties, 3·1/2 at 0.6 and 1·2/2 at 0.1: 8.5 of 4·3 = 12 pairs.
	checkFloat(t, "expected AUC", ExpectedROCAUC(f, cur), 8.5/12)
	if ExpectedConfusion(Isotonic{}, cur, "yes", "no") != nil {
		t.Error("an empty fit gave a confusion matrix")
	}
	checkFloat(t, "AUC without fit", ExpectedROCAUC(Isotonic{}, cur), nan)
	// Every row certainly positive: no negative weight, no AUC.
	sure := FitIsotonic([]ScoreBucket{{Score: 0.5, Positives: 3}})
	checkFloat(t, "AUC of certain positives", ExpectedROCAUC(sure, cur), nan)
}

// TestEstimateOracle compares the whole estimate with scikit-learn on rows:
// under-confident raw scores (true probability further from 0.5 than the
// score), scores on a grid of 0.01 so that distinct scores repeat.
func TestEstimateOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	score := func() float64 { return math.Round(rng.Float64()*100) / 100 }
	truth := func(s float64) float64 { return 1 / (1 + math.Exp(-12*(s-0.5))) } // steeper than the score
	var refRows, curRows [][2]float64
	refHist := map[float64]*ScoreBucket{}
	for range 3000 {
		s := score()
		y := 0.0
		if rng.Float64() < truth(s) {
			y = 1
		}
		refRows = append(refRows, [2]float64{s, y})
		if refHist[s] == nil {
			refHist[s] = &ScoreBucket{Score: s}
		}
		refHist[s].Positives += y
		refHist[s].Negatives += 1 - y
	}
	curHist := map[float64]*PredictedScoreBucket{}
	for range 2000 {
		// Current scores at 0.005 steps, half of them never seen in the
		// reference, so prediction interpolates; predicted positive at
		// 0.45 and above (not 0.5: the threshold is the model's business).
		s := math.Round(rng.Float64()*200) / 200
		pos := 0.0
		if s >= 0.45 {
			pos = 1
		}
		curRows = append(curRows, [2]float64{s, pos})
		if curHist[s] == nil {
			curHist[s] = &PredictedScoreBucket{Score: s}
		}
		curHist[s].PredictedPositive += pos
		curHist[s].PredictedNegative += 1 - pos
	}
	grid := []float64{-0.5, 0, 0.003, 0.125, 0.333, 0.5, 0.5049, 0.77, 1, 1.5}
	want := oracle(t, map[string]any{"ref": refRows, "cur": curRows, "grid": grid})

	var ref []ScoreBucket
	for _, b := range refHist {
		ref = append(ref, *b)
	}
	var cur []PredictedScoreBucket
	for _, b := range curHist {
		cur = append(cur, *b)
	}
	f := FitIsotonic(ref)
	var wantPredict []float64
	if err := json.Unmarshal(want["predict"], &wantPredict); err != nil {
		t.Fatal(err)
	}
	for i, s := range grid {
		checkFloat(t, "Predict", f.Predict(s), wantPredict[i])
	}
	num := func(k string) float64 {
		var v float64
		if err := json.Unmarshal(want[k], &v); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return v
	}
	rep := Classify(ExpectedConfusion(f, cur, "1", "0"))
	checkFloat(t, "accuracy", rep.Accuracy, num("accuracy"))
	for _, a := range []struct {
		name string
		avg  Average
	}{{"macro", rep.Macro}, {"weighted", rep.Weighted}, {"micro", rep.Micro}} {
		checkFloat(t, "precision "+a.name, a.avg.Precision, num("precision_"+a.name))
		checkFloat(t, "recall "+a.name, a.avg.Recall, num("recall_"+a.name))
		checkFloat(t, "f1 "+a.name, a.avg.F1, num("f1_"+a.name))
	}
	checkFloat(t, "f1 of 0", rep.Classes["0"].F1, num("f1_class0"))
	checkFloat(t, "f1 of 1", rep.Classes["1"].F1, num("f1_class1"))
	checkFloat(t, "expected AUC", ExpectedROCAUC(f, cur), num("roc_auc"))
	checkFloat(t, "raw ECE", CalibrationError(ref), num("ece_raw"))
	checkFloat(t, "cross-fitted ECE", CrossFittedCalibrationError(ref), num("ece_crossfit"))
	// Under-confident scores are badly calibrated, and calibration fixes
	// most of it: the case the estimate exists for.
	if raw, cal := num("ece_raw"), num("ece_crossfit"); !(raw > 0.05 && cal < raw/2) {
		t.Errorf("test data: raw ECE %g, cross-fitted %g: not an under-confident case", raw, cal)
	}
}

// oracle runs testdata/estimate_oracle.py on input.
func oracle(t *testing.T, input any) map[string]json.RawMessage {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/estimate_oracle.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	return want
}
