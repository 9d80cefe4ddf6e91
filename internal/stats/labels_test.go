package stats

import (
	"slices"
	"testing"
)

func TestBinLabels(t *testing.T) {
	// Actual classes (rows) of the reference: a 50, b 30, c 30, d 10; of the
	// current window: a 5, c 20, e 15.
	ref := Confusion{
		"a": {"a": 40, "b": 10},
		"b": {"b": 30},
		"c": {"c": 25, "a": 5},
		"d": {"d": 10},
	}
	cur := Confusion{
		"a": {"a": 5},
		"c": {"c": 10, "b": 10},
		"e": {"a": 15},
	}
	for _, tc := range []struct {
		k        int
		ref, cur []float64
	}{
		// Top 2 of the reference: a, then b before c (a tie, by name).
		{2, []float64{50, 30, 40}, []float64{5, 0, 35}},
		{3, []float64{50, 30, 30, 10}, []float64{5, 0, 20, 15}},
		{10, []float64{50, 30, 30, 10, 0}, []float64{5, 0, 20, 0, 15}},
		{0, []float64{120}, []float64{40}},
		{-1, []float64{120}, []float64{40}},
	} {
		b := BinLabels(ref, cur, tc.k)
		if !slices.Equal(b.Reference, tc.ref) || !slices.Equal(b.Current, tc.cur) {
			t.Errorf("k=%d: bins %v / %v, want %v / %v", tc.k, b.Reference, b.Current, tc.ref, tc.cur)
		}
		if b.ReferenceRows != 120 || b.CurrentRows != 40 {
			t.Errorf("k=%d: rows %g / %g, want 120 / 40", tc.k, b.ReferenceRows, b.CurrentRows)
		}
	}
	// Without labels: one empty bin each, and no rows.
	b := BinLabels(Confusion{}, nil, 5)
	if !slices.Equal(b.Reference, []float64{0}) || !slices.Equal(b.Current, []float64{0}) || b.ReferenceRows != 0 || b.CurrentRows != 0 {
		t.Errorf("no labels: %+v", b)
	}
}
