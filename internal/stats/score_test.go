package stats

import (
	"cmp"
	"slices"
	"testing"
)

func TestROCAUC(t *testing.T) {
	// Ties, unsorted, and two buckets sharing the score 0.5.
	// sklearn.metrics.roc_auc_score(y, s) on the rows expanded from these
	// buckets (Positives rows with y=1 and Negatives rows with y=0 at Score)
	// = 0.8238636363636364.
	tied := []ScoreBucket{
		{Score: 0.9, Positives: 3, Negatives: 1},
		{Score: 0.1, Positives: 0, Negatives: 4},
		{Score: 0.5, Positives: 2, Negatives: 2},
		{Score: 0.7, Positives: 1, Negatives: 0},
		{Score: 0.3, Positives: 1, Negatives: 3},
		{Score: 0.5, Positives: 1, Negatives: 1},
	}
	sorted := slices.Clone(tied)
	slices.SortFunc(sorted, func(a, b ScoreBucket) int { return cmp.Compare(a.Score, b.Score) })
	tests := []struct {
		name string
		b    []ScoreBucket
		want float64
	}{
		{"nil", nil, nan},
		{"empty", []ScoreBucket{}, nan},
		{"ties unsorted", tied, 0.8238636363636364},
		{"ties sorted", sorted, 0.8238636363636364},
		// Every positive scores above every negative: 25/25.
		{"perfect", []ScoreBucket{{0.8, 5, 0}, {0.2, 0, 5}}, 1},
		// Every positive scores below every negative: 0/25.
		{"inverted", []ScoreBucket{{0.8, 0, 5}, {0.2, 5, 0}}, 0},
		// All 3·7 pairs tie: (21·½)/21.
		{"single score", []ScoreBucket{{0.5, 3, 7}}, 0.5},
		// Positive at 0.3 ties the negative at 0.3 (½); positive at 0.6 beats
		// the negative at 0.3 (1) and ties the one at 0.6 (½): 2/(2·2).
		{"hand ties", []ScoreBucket{{0.6, 1, 1}, {0.3, 1, 1}}, 0.5},
		{"no negatives", []ScoreBucket{{0.2, 1, 0}, {0.9, 4, 0}}, nan},
		{"no positives", []ScoreBucket{{0.2, 0, 1}, {0.9, 0, 4}}, nan},
		{"all zero counts", []ScoreBucket{{0.2, 0, 0}}, nan},
		{"NaN score", []ScoreBucket{{nan, 1, 0}, {0.2, 0, 5}, {0.8, 5, 0}}, nan},
		// An empty bucket is ignored even with a NaN score: as "perfect".
		{"NaN score, empty bucket", []ScoreBucket{{nan, 0, 0}, {0.2, 0, 5}, {0.8, 5, 0}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.b)
			checkFloat(t, "ROCAUC", ROCAUC(tt.b), tt.want)
			if !slices.EqualFunc(in, tt.b, func(a, b ScoreBucket) bool {
				return same(a.Score, b.Score) && a.Positives == b.Positives && a.Negatives == b.Negatives
			}) {
				t.Errorf("ROCAUC modified its input")
			}
		})
	}
}

func TestMeanOf(t *testing.T) {
	tests := []struct {
		name   string
		sum, n float64
		want   float64
	}{
		{"mean", 3, 2, 1.5}, // 3/2
		{"zero sum", 0, 4, 0},
		{"no rows", 1, 0, nan},
		{"no rows, zero sum", 0, 0, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFloat(t, "MeanOf", MeanOf(tt.sum, tt.n), tt.want)
		})
	}
}
