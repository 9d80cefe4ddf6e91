package stats

import (
	"cmp"
	"math"
	"slices"
)

// Label-free performance estimation (confidence-based, as NannyML's CBPE):
// a calibration map learnt on labelled reference rows turns each unlabelled
// row's score into p̂, the probability that its label is the positive class;
// the expected confusion matrix and ROC curve follow from p̂. The estimate
// holds as long as P(label | score) is the same in both windows: it follows
// a change of the scores' distribution (covariate shift), not a change of
// what a score means (concept drift).

// Isotonic is a fitted isotonic regression of a 0/1 label on a score: a
// non-decreasing function known at the distinct fitted scores, linear
// between them and constant beyond the first and last (scikit-learn's
// IsotonicRegression(y_min=0, y_max=1, increasing=True,
// out_of_bounds="clip")). The zero value has no points and predicts NaN.
type Isotonic struct {
	x, y []float64
}

// FitIsotonic fits the isotonic regression of the label on the score to a
// labelled score histogram: each bucket is Positives rows with label 1 and
// Negatives rows with label 0 at Score. Buckets that share a score are
// pooled, empty buckets are ignored, and the fit is by pool-adjacent-
// violators with the row counts as weights. A bucket with a NaN score or a
// negative or non-finite count makes the fit empty (Predict returns NaN).
func FitIsotonic(b []ScoreBucket) Isotonic {
	type point struct{ x, sum, w float64 } // sum: weighted labels
	pts := make([]point, 0, len(b))
	for _, s := range b {
		n := s.Positives + s.Negatives
		if s.Positives < 0 || s.Negatives < 0 || math.IsNaN(n) || math.IsInf(n, 0) {
			return Isotonic{}
		}
		if n == 0 {
			continue
		}
		if math.IsNaN(s.Score) || math.IsInf(s.Score, 0) {
			return Isotonic{}
		}
		pts = append(pts, point{s.Score, s.Positives, n})
	}
	slices.SortFunc(pts, func(a, b point) int { return cmp.Compare(a.x, b.x) })

	// Pool equal scores (scikit-learn's _make_unique), then merge adjacent
	// blocks while a block's mean is below its predecessor's.
	type block struct {
		first, last int // indices into xs
		sum, w      float64
	}
	var xs []float64
	var blocks []block
	for i := 0; i < len(pts); {
		p := pts[i]
		j := i + 1
		for ; j < len(pts) && pts[j].x == p.x; j++ {
			p.sum += pts[j].sum
			p.w += pts[j].w
		}
		i = j
		xs = append(xs, p.x)
		blk := block{first: len(xs) - 1, last: len(xs) - 1, sum: p.sum, w: p.w}
		for len(blocks) > 0 {
			prev := blocks[len(blocks)-1]
			if prev.sum/prev.w <= blk.sum/blk.w {
				break
			}
			blk = block{first: prev.first, last: blk.last, sum: prev.sum + blk.sum, w: prev.w + blk.w}
			blocks = blocks[:len(blocks)-1]
		}
		blocks = append(blocks, blk)
	}
	ys := make([]float64, len(xs))
	for _, blk := range blocks {
		v := min(max(blk.sum/blk.w, 0), 1)
		for k := blk.first; k <= blk.last; k++ {
			ys[k] = v
		}
	}
	return Isotonic{x: xs, y: ys}
}

// Points returns the number of distinct scores the fit rests on.
func (f Isotonic) Points() int { return len(f.x) }

// Predict returns the calibrated probability at score s: linear between the
// two fitted scores around s, the end values beyond them (s clipped to the
// fitted range). NaN for an empty fit or a NaN score.
func (f Isotonic) Predict(s float64) float64 {
	n := len(f.x)
	if n == 0 || math.IsNaN(s) {
		return math.NaN()
	}
	if s <= f.x[0] {
		return f.y[0]
	}
	if s >= f.x[n-1] {
		return f.y[n-1]
	}
	// f.x[i-1] < s ≤ f.x[i]
	i, _ := slices.BinarySearch(f.x, s)
	if f.x[i] == s {
		return f.y[i]
	}
	x0, x1, y0, y1 := f.x[i-1], f.x[i], f.y[i-1], f.y[i]
	return y0 + (s-x0)*(y1-y0)/(x1-x0)
}

// CalibrationBins is the number of equal-width probability bins of
// CalibrationError.
const CalibrationBins = 10

// CalibrationError is the expected calibration error of a labelled
// histogram whose Score is a predicted probability: the probabilities
// (clipped to [0, 1]) fall into CalibrationBins equal-width bins
// [0, 0.1), [0.1, 0.2), …, [0.9, 1.0], and the error is
// Σ_bin (rows_bin / rows) · |mean probability_bin − positive rate_bin|.
// NaN without rows or with a NaN probability.
func CalibrationError(b []ScoreBucket) float64 {
	var n, sumP, pos [CalibrationBins]float64
	var total float64
	for _, s := range b {
		w := s.Positives + s.Negatives
		if w == 0 {
			continue
		}
		if math.IsNaN(s.Score) {
			return math.NaN()
		}
		p := min(max(s.Score, 0), 1)
		k := min(int(p*CalibrationBins), CalibrationBins-1)
		n[k] += w
		sumP[k] += w * p
		pos[k] += s.Positives
		total += w
	}
	if total <= 0 {
		return math.NaN()
	}
	var ece float64
	for k := range n {
		if n[k] > 0 {
			ece += math.Abs(sumP[k]-pos[k]) / total // n_k/N · |Σp/n_k − pos/n_k|
		}
	}
	return finite(ece)
}

// Calibrated returns the histogram with each bucket's score replaced by
// f.Predict of it (buckets keep their counts).
func (f Isotonic) Calibrated(b []ScoreBucket) []ScoreBucket {
	out := make([]ScoreBucket, len(b))
	for i, s := range b {
		out[i] = ScoreBucket{Score: f.Predict(s.Score), Positives: s.Positives, Negatives: s.Negatives}
	}
	return out
}

// CrossFittedCalibrationError is the calibration error an isotonic fit
// leaves on rows it was not fitted on. Measured on its own training rows
// the error of an isotonic fit is 0 by construction (every block's mean
// probability is its positive rate), which says nothing. So the distinct
// scores are split alternately in score order into two halves; each half
// is calibrated by the fit on the other, and CalibrationError is taken over
// both halves so calibrated. NaN with fewer than two distinct scores.
func CrossFittedCalibrationError(b []ScoreBucket) float64 {
	c, ok := crossFit(b)
	if !ok {
		return math.NaN()
	}
	return CalibrationError(c)
}

// crossFit returns the non-empty buckets of b, each half calibrated by the
// fit on the other (see CrossFittedCalibrationError); ok is false with a
// NaN score or fewer than two distinct scores.
func crossFit(b []ScoreBucket) (calibrated []ScoreBucket, ok bool) {
	var s []ScoreBucket
	for _, x := range b {
		if x.Positives+x.Negatives == 0 {
			continue
		}
		if math.IsNaN(x.Score) {
			return nil, false
		}
		s = append(s, x)
	}
	slices.SortFunc(s, func(a, b ScoreBucket) int { return cmp.Compare(a.Score, b.Score) })
	var halves [2][]ScoreBucket
	distinct := 0
	for i := range s {
		if i > 0 && s[i].Score != s[i-1].Score {
			distinct++
		}
		halves[distinct%2] = append(halves[distinct%2], s[i])
	}
	if distinct == 0 {
		return nil, false
	}
	even, odd := FitIsotonic(halves[0]), FitIsotonic(halves[1])
	return append(odd.Calibrated(halves[0]), even.Calibrated(halves[1])...), true
}

// PredictedScoreBucket is one bucket of an unlabelled score histogram split
// by predicted class: rows predicted positive and rows predicted negative
// whose score is Score.
type PredictedScoreBucket struct {
	Score                                float64
	PredictedPositive, PredictedNegative float64
}

// ExpectedConfusion is the expected confusion matrix of unlabelled rows
// under the calibration f: each row is positive with probability p̂ =
// f.Predict(score), so TP = Σ p̂ and FP = Σ (1 − p̂) over the rows
// predicted positive, FN = Σ p̂ and TN = Σ (1 − p̂) over those predicted
// negative. The classes are named positive and negative. It is nil when
// the fit is empty or a bucket with rows has a NaN score.
func ExpectedConfusion(f Isotonic, cur []PredictedScoreBucket, positive, negative string) Confusion {
	var tp, fp, fn, tn float64
	for _, b := range cur {
		if b.PredictedPositive == 0 && b.PredictedNegative == 0 {
			continue
		}
		p := f.Predict(b.Score)
		if math.IsNaN(p) {
			return nil
		}
		tp += b.PredictedPositive * p
		fp += b.PredictedPositive * (1 - p)
		fn += b.PredictedNegative * p
		tn += b.PredictedNegative * (1 - p)
	}
	return Confusion{
		positive: {positive: tp, negative: fn},
		negative: {positive: fp, negative: tn},
	}
}

// ExpectedROCAUC is the area under the ROC curve of the score when every
// unlabelled row counts as a positive with weight p̂ = f.Predict(score) and
// as a negative with weight 1 − p̂ (equal scores tie, counting one half):
// ROCAUC of that weighted histogram. NaN when the fit is empty or the
// weights hold no positive or no negative.
func ExpectedROCAUC(f Isotonic, cur []PredictedScoreBucket) float64 {
	w := make([]ScoreBucket, 0, len(cur))
	for _, b := range cur {
		n := b.PredictedPositive + b.PredictedNegative
		if n == 0 {
			continue
		}
		p := f.Predict(b.Score)
		if math.IsNaN(p) {
			return math.NaN()
		}
		w = append(w, ScoreBucket{Score: b.Score, Positives: n * p, Negatives: n * (1 - p)})
	}
	return ROCAUC(w)
}
