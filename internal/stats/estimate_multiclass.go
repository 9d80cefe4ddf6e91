package stats

import "math"

// Multiclass label-free estimation. A multiclass model has one score (a
// probability) per class. The calibration is one-vs-rest per class, and
// fitted apart for each predicted class: f_ij, the isotonic regression of
// [label = j] on class j's score over the reference's labelled rows
// predicted i, estimates P(label = j | score_j, predicted i). Fitting within
// the predicted class matters: a row predicted i has score_i above the
// others, which is evidence in itself, and a calibration over all rows
// ignores it (in simulation it put the reference's own accuracy 0.011 too
// low, where the fit within the predicted class is exact on the rows it was
// fitted on). The current rows predicted i then have expected class counts
// Σ f_ij(score_j), renormalised so that they sum to the rows predicted i
// (per predicted class, not per row: the aggregates hold each class's score
// apart, not the row's joint scores, which a per-row normalisation needs).

// ScoreRows is one bucket of an unlabelled score histogram: Rows rows whose
// score is Score.
type ScoreRows struct {
	Score, Rows float64
}

// MulticlassCalibration holds the fits f_ij of a multiclass model, indexed
// [predicted class][class]; a predicted class without labelled reference
// rows has empty fits.
type MulticlassCalibration struct {
	fits [][]Isotonic
}

// FitMulticlass fits f_ij to ref[i][j], the labelled histogram of class j's
// score over the reference rows predicted i (positives: rows labelled j).
func FitMulticlass(ref [][][]ScoreBucket) MulticlassCalibration {
	c := MulticlassCalibration{fits: make([][]Isotonic, len(ref))}
	for i := range ref {
		c.fits[i] = make([]Isotonic, len(ref[i]))
		for j := range ref[i] {
			c.fits[i][j] = FitIsotonic(ref[i][j])
		}
	}
	return c
}

// ExpectedMulticlassConfusion is the expected confusion matrix of the
// unlabelled rows cur[i][j] (class j's score histogram over the rows
// predicted i, every row present once under each class): actual class j,
// predicted i holds n_i · e_ij / Σ_k e_ik, where e_ij = Σ f_ij(score_j) over
// the rows predicted i and n_i their number. classes names the classes and
// predicted the predicted classes (classes, then a name for any other
// prediction). It is nil when a predicted class with rows has an empty fit
// or expects no class at all, or when the inputs do not match.
func ExpectedMulticlassConfusion(c MulticlassCalibration, cur [][][]ScoreRows, classes, predicted []string) Confusion {
	if len(cur) != len(c.fits) || len(predicted) != len(cur) {
		return nil
	}
	conf := Confusion{}
	for _, class := range classes {
		conf[class] = map[string]float64{}
	}
	for i := range cur {
		if len(cur[i]) != len(classes) || len(c.fits[i]) != len(classes) {
			return nil
		}
		var n float64
		for _, b := range cur[i][0] {
			n += b.Rows
		}
		if n == 0 {
			continue
		}
		e := make([]float64, len(classes))
		var total float64
		for j := range classes {
			for _, b := range cur[i][j] {
				p := c.fits[i][j].Predict(b.Score)
				if math.IsNaN(p) {
					return nil
				}
				e[j] += b.Rows * p
			}
			total += e[j]
		}
		if !(total > 0) {
			return nil
		}
		for j, class := range classes {
			conf[class][predicted[i]] = n * e[j] / total
		}
	}
	return conf
}

// ExpectedMulticlassROCAUC is the one-vs-rest macro average of the expected
// ROC AUC: for each class j, ExpectedROCAUC's area of class j's score with
// each row a positive of weight f_ij(score_j) (i its predicted class) and a
// negative of weight 1 − f_ij(score_j); the mean over the classes. NaN when
// a class's area is undefined.
func ExpectedMulticlassROCAUC(c MulticlassCalibration, cur [][][]ScoreRows, k int) float64 {
	if len(cur) != len(c.fits) || k == 0 {
		return math.NaN()
	}
	var sum float64
	for j := range k {
		var w []ScoreBucket
		for i := range cur {
			if len(cur[i]) != k || len(c.fits[i]) != k {
				return math.NaN()
			}
			for _, b := range cur[i][j] {
				if b.Rows == 0 {
					continue
				}
				p := c.fits[i][j].Predict(b.Score)
				if math.IsNaN(p) {
					return math.NaN()
				}
				w = append(w, ScoreBucket{Score: b.Score, Positives: b.Rows * p, Negatives: b.Rows * (1 - p)})
			}
		}
		auc := ROCAUC(w)
		if math.IsNaN(auc) {
			return math.NaN()
		}
		sum += auc
	}
	return sum / float64(k)
}

// MulticlassROCAUC is the realised one-vs-rest macro ROC AUC of labelled
// histograms h[i][j] (class j's score over the rows predicted i, positives
// labelled j): for each class, ROCAUC of its score over every row, a
// positive being a row of that class; the mean over the k classes
// (scikit-learn's roc_auc_score(multi_class="ovr", average="macro")). NaN
// when a class has no positive or no negative row.
func MulticlassROCAUC(h [][][]ScoreBucket, k int) float64 {
	if k == 0 {
		return math.NaN()
	}
	var sum float64
	for j := range k {
		var all []ScoreBucket
		for i := range h {
			if len(h[i]) != k {
				return math.NaN()
			}
			all = append(all, h[i][j]...)
		}
		auc := ROCAUC(all)
		if math.IsNaN(auc) {
			return math.NaN()
		}
		sum += auc
	}
	return sum / float64(k)
}

// MulticlassCalibrationError is the expected calibration error of the
// predicted class's score (the model's confidence) against being right:
// CalibrationError over the histograms h[i][i] of the rows predicted i,
// raw, or, with crossFitted, each predicted class's histogram calibrated
// by cross-fitting as in CrossFittedCalibrationError. Rows predicted a
// class without a score (index k) are left out.
func MulticlassCalibrationError(h [][][]ScoreBucket, k int, crossFitted bool) float64 {
	var all []ScoreBucket
	for i := 0; i < k && i < len(h); i++ {
		if len(h[i]) != k {
			return math.NaN()
		}
		d := h[i][i]
		if crossFitted {
			var ok bool
			if d, ok = crossFit(d); !ok {
				continue // one distinct score: nothing to cross-fit
			}
		}
		all = append(all, d...)
	}
	return CalibrationError(all)
}
