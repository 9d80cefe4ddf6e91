package stats

import (
	"math"
	"slices"
	"testing"
)

// permille are levels every 0.1%, as the pre-aggregated window reads a
// digest.
func permille() []float64 {
	g := make([]float64, 999)
	for i := range g {
		g[i] = float64(i+1) / 1000
	}
	return g
}

// The digest CDF on hand-made points: linear between the quantiles, 0 and 1
// beyond the exact extremes.
func TestDigestCDF(t *testing.T) {
	levels := permille()
	quantiles := make([]float64, len(levels))
	for i, p := range levels {
		quantiles[i] = 10 * p // uniform on [0, 10]
	}
	d := NewDigestCDF(0, 10, levels, quantiles)
	for _, tc := range []struct{ x, below, atMost float64 }{
		{-1, 0, 0}, {0, 0, 0}, {2.5, 0.25, 0.25}, {7.77, 0.777, 0.777}, {10, 1, 1}, {11, 1, 1}, {nan, 0, 0},
	} {
		if got := d.Below(tc.x); math.Abs(got-tc.below) > 1e-6 {
			t.Errorf("Below(%g) = %g, want %g", tc.x, got, tc.below)
		}
		if got := d.AtMost(tc.x); math.Abs(got-tc.atMost) > 1e-6 {
			t.Errorf("AtMost(%g) = %g, want %g", tc.x, got, tc.atMost)
		}
	}
	// 1000 uniform values: 250 in each quarter, 20% below 2 and 10% above 9.
	if bins := d.BinCounts(1000, []float64{2.5, 5, 7.5}); !slices.Equal(bins, []uint64{250, 250, 250, 250}) {
		t.Errorf("BinCounts = %v, want 250 each", bins)
	}
	if out := d.OutsideCount(1000, 2, 9); out != 300 {
		t.Errorf("OutsideCount(2, 9) = %d, want 300", out)
	}
	if out := d.OutsideCount(1000, 0, 10); out != 0 {
		t.Errorf("OutsideCount(0, 10) = %d, want 0: the exact extremes are inside", out)
	}
	if out := d.OutsideCount(1000, nan, nan); out != 0 {
		t.Errorf("OutsideCount(NaN, NaN) = %d, want 0: no range, nothing outside", out)
	}

	// Two tied values as a digest reads them: 1 for 40% of the values, 2
	// for the rest, the quantiles climbing from one to the other over the
	// 1% between the centroids that meet at 0.4. The share below 2 and at
	// most 1 is read at the middle of the climb, 0.4.
	ties := make([]float64, len(levels))
	for i, p := range levels {
		ties[i] = 1 + min(max((p-0.395)/0.01, 0), 1)
	}
	d = NewDigestCDF(1, 2, levels, ties)
	if got := d.Below(2); math.Abs(got-0.4) > 0.001 {
		t.Errorf("ties: Below(2) = %g, want 0.4", got)
	}
	if got := d.AtMost(1); math.Abs(got-0.4) > 0.001 {
		t.Errorf("ties: AtMost(1) = %g, want 0.4", got)
	}
	if got, want := d.Below(1.5), 0.4; math.Abs(got-want) > 0.001 {
		t.Errorf("ties: Below(1.5) = %g, want %g (inside the climb, linear)", got, want)
	}
	// 1000 values: 400 ones and 600 twos, split at 1.5 and at 2.
	if bins := d.BinCounts(1000, []float64{1.5, 2}); !slices.Equal(bins, []uint64{400, 0, 600}) {
		t.Errorf("ties: BinCounts = %v, want [400 0 600]", bins)
	}
}

// Counts sum to the values whatever the edges: cumulative shares are
// rounded, never the bins one by one, and an edge list out of order cannot
// make a bin negative.
func TestDigestBinCountsSum(t *testing.T) {
	levels := permille()
	quantiles := make([]float64, len(levels))
	for i, p := range levels {
		quantiles[i] = p * p // a skewed distribution on [0, 1]
	}
	d := NewDigestCDF(0, 1, levels, quantiles)
	for _, edges := range [][]float64{nil, {0.1}, {0.001, 0.002, 0.003, 0.5}, {0.9, 0.1}, {-1, 2}} {
		bins := d.BinCounts(7, edges)
		var sum uint64
		for _, b := range bins {
			sum += b
		}
		if len(bins) != len(edges)+1 || sum != 7 {
			t.Errorf("BinCounts(7, %v) = %v: want %d bins summing to 7", edges, bins, len(edges)+1)
		}
	}
}
