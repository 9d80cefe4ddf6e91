package stats

import (
	"cmp"
	"math"
	"slices"
)

// LogLossEpsilon is the clipping bound for log loss: predicted probabilities
// are clipped to [LogLossEpsilon, 1−LogLossEpsilon] before the logarithm so
// that a confident wrong prediction costs ln(1e15) ≈ 34.5 instead of +Inf.
// The SQL that computes the log-loss sum uses this same value; the exporter
// then divides that sum with MeanOf.
const LogLossEpsilon = 1e-15

// ScoreBucket is one bucket of a histogram of predicted scores (probability
// of the positive class) split by true class: one bucket per distinct
// (rounded) score.
type ScoreBucket struct {
	Score                float64
	Positives, Negatives float64
}

// ROCAUC returns the area under the ROC curve of a score histogram, i.e. the
// Mann–Whitney probability that a random positive scores higher than a random
// negative, counting equal-score pairs as one half. This equals
// scikit-learn's roc_auc_score on the expanded rows.
//
// The buckets need not be sorted (a sorted copy is used) and several buckets
// may share a score (they are pooled). Buckets with zero counts are ignored.
// The result is NaN when there are no positives or no negatives, or when a
// bucket with a non-zero count has a NaN score.
func ROCAUC(b []ScoreBucket) float64 {
	s := make([]ScoreBucket, 0, len(b))
	for _, x := range b {
		if x.Positives == 0 && x.Negatives == 0 {
			continue
		}
		if math.IsNaN(x.Score) {
			return math.NaN()
		}
		s = append(s, x)
	}
	slices.SortFunc(s, func(a, b ScoreBucket) int { return cmp.Compare(a.Score, b.Score) })

	// Walk the scores upwards; each positive beats every negative seen
	// strictly below it and ties with half of those at its own score.
	var negBelow, positives, wins float64
	for i := 0; i < len(s); {
		var pos, neg float64
		j := i
		for ; j < len(s) && s[j].Score == s[i].Score; j++ {
			pos += s[j].Positives
			neg += s[j].Negatives
		}
		wins += pos * (negBelow + neg/2)
		negBelow += neg
		positives += pos
		i = j
	}
	if positives <= 0 || negBelow <= 0 {
		return math.NaN()
	}
	return finite(wins / (positives * negBelow))
}

// MeanOf returns sum/n, the mean of a quantity whose sum was computed in SQL
// (log loss, Brier score). It is NaN when n is 0.
func MeanOf(sum, n float64) float64 {
	return ratio(sum, n)
}
