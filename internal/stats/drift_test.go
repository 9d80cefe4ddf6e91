package stats

import (
	"math"
	"slices"
	"testing"
)

func TestQuantileEdges(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		q    []float64
		want []float64
	}{
		{"nil", nil, []float64{}},
		{"already edges", []float64{1, 2, 3}, []float64{1, 2, 3}},
		{"sort, dedupe, drop non-finite", []float64{3, 1, 2, 2, nan, inf, -inf, 1}, []float64{1, 2, 3}},
		{"all equal", []float64{5, 5, 5}, []float64{5}},
		{"only non-finite", []float64{nan, inf}, []float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.q...)
			got := QuantileEdges(tt.q)
			if len(got) != len(tt.want) {
				t.Fatalf("QuantileEdges = %v, want %v", got, tt.want)
			}
			checkFloats(t, "QuantileEdges", got, tt.want)
			if !slices.EqualFunc(tt.q, in, same) {
				t.Errorf("QuantileEdges modified its input: %v, was %v", tt.q, in)
			}
		})
	}
}

func TestBinIndex(t *testing.T) {
	edges := []float64{1, 2, 3} // bins (−∞,1) [1,2) [2,3) [3,+∞)
	tests := []struct {
		name  string
		edges []float64
		x     float64
		want  int
	}{
		{"below first edge", edges, 0.5, 0},
		{"on first edge", edges, 1, 1},
		{"inside", edges, 1.5, 1},
		{"on last edge", edges, 3, 3},
		{"above", edges, 10, 3},
		{"-Inf", edges, math.Inf(-1), 0},
		{"+Inf", edges, math.Inf(1), 3},
		{"NaN", edges, nan, -1},
		{"no edges", nil, 42, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := BinIndex(tt.edges, tt.x); got != tt.want {
				t.Errorf("BinIndex(%v, %v) = %d, want %d", tt.edges, tt.x, got, tt.want)
			}
		})
	}
}

func TestProportions(t *testing.T) {
	tests := []struct {
		name   string
		counts []float64
		want   []float64
	}{
		{"nil", nil, nil},
		{"all zero", []float64{0, 0}, nil},
		{"NaN total", []float64{1, nan}, nil},
		{"quarters", []float64{1, 3}, []float64{0.25, 0.75}}, // 1/4, 3/4
		{"zero bin", []float64{0, 2}, []float64{0, 1}},
		{"one bin", []float64{7}, []float64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFloats(t, "Proportions", Proportions(tt.counts), tt.want)
		})
	}
}

// driftCase is a pair of per-bin count vectors with the expected value of
// every per-bin drift statistic.
type driftCase struct {
	name       string
	ref, cur   []float64
	psi        float64
	js         float64
	ks         float64
	chi2, chiP float64
}

// Expected values, unless derived by hand in the comment:
//
//	psi:  numpy, r=ref/ref.sum(); c=cur/cur.sum(); r[r==0]=1e-4; c[c==0]=1e-4;
//	      ((c-r)*np.log(c/r)).sum()
//	js:   scipy.spatial.distance.jensenshannon(ref, cur, base=2)**2
//	ks:   scipy.stats.ks_2samp(np.repeat(np.arange(k), ref),
//	      np.repeat(np.arange(k), cur)).statistic (one value per bin, so the
//	      binned KS is exact)
//	chi2: scipy.stats.chi2_contingency(t, correction=False)[:2] with t the
//	      2×K table of ref and cur after dropping all-zero columns
var driftCases = []driftCase{
	{
		name: "shifted",
		ref:  []float64{10, 20, 30, 40},
		cur:  []float64{15, 25, 25, 35},
		psi:  0.04722308044204256,
		js:   0.008483892080289648,
		// cumulative: ref .1 .3 .6 1, cur .15 .4 .65 1 → max |Δ| = .1
		ks:   0.1,
		chi2: 2.3434343434343434, chiP: 0.5042511431936056,
	},
	{
		// ref proportions [0, .5, .5] → [1e-4, .5, .5]; cur [.1, .4, .5]:
		// PSI = (.1−1e-4)·ln(.1/1e-4) + (.4−.5)·ln(.4/.5) + 0
		//     = .0999·6.907755 + .1·.223144 = .690085 + .022314 ≈ .712399
		name: "empty reference bin (PSI epsilon)",
		ref:  []float64{0, 50, 50},
		cur:  []float64{10, 40, 50},
		psi:  0.7123991075017365,
		js:   0.05401577307280007,
		// cumulative: ref 0 .5 1, cur .1 .5 1 → .1
		ks:   0.1,
		chi2: 11.11111111111111, chiP: 0.0038659201394728067,
	},
	{
		// The last bin is empty on both sides: both become 1e-4 and the
		// term is 0. Chi-square drops that column (df = 2).
		name: "bin empty on both sides",
		ref:  []float64{0, 30, 70, 0},
		cur:  []float64{5, 25, 70, 0},
		psi:  0.319225021950965,
		js:   0.026641691843836954,
		// cumulative: ref 0 .3 1 1, cur .05 .3 1 1 → .05
		ks:   0.05,
		chi2: 5.454545454545454, chiP: 0.06539740322986021,
	},
	{
		// Identical proportions (cur = 2·ref): every term is 0, and the
		// observed table equals its expectation, so χ² = 0 and p = 1.
		name: "identical",
		ref:  []float64{10, 20, 30},
		cur:  []float64{20, 40, 60},
		psi:  0, js: 0, ks: 0,
		chi2: 0, chiP: 1,
	},
	{
		// Disjoint supports: M = R/2 on ref's bins and C/2 on cur's, so each
		// KL term is log2(2) = 1 and JS = 1; cumulative ref 0.5 1 1 1,
		// cur 0 0 .3 1 → KS = 1.
		// PSI: r = [.5,.5,1e-4,1e-4], c = [1e-4,1e-4,.3,.7]
		//   = 2·(.4999·ln(5000)) + (.2999·ln(3000)) + (.6999·ln(7000))
		// χ²: row totals 10 and 10, column totals 5 5 3 7, so E is half of
		// each column total in both rows: (2.5²/2.5)·2·2 + (1.5²/1.5)·2
		// + (3.5²/3.5)·2 = 10 + 3 + 7 = 20 (df 3); p from scipy as above.
		name: "disjoint",
		ref:  []float64{5, 5, 0, 0},
		cur:  []float64{0, 0, 3, 7},
		psi:  2*0.4999*math.Log(5000) + 0.2999*math.Log(3000) + 0.6999*math.Log(7000),
		js:   1,
		ks:   1,
		chi2: 20, chiP: 0.00016974243555282632,
	},
	{
		// A single bin: both sides have proportion 1. Chi-square needs at
		// least two non-empty columns.
		name: "one bin",
		ref:  []float64{7},
		cur:  []float64{3},
		psi:  0, js: 0, ks: 0,
		chi2: nan, chiP: nan,
	},
	{
		// Only one column survives the all-zero drop.
		name: "one non-empty column",
		ref:  []float64{4, 0},
		cur:  []float64{9, 0},
		psi:  0, js: 0, ks: 0,
		chi2: nan, chiP: nan,
	},
	{name: "nil", psi: nan, js: nan, ks: nan, chi2: nan, chiP: nan},
	{name: "empty slices", ref: []float64{}, cur: []float64{}, psi: nan, js: nan, ks: nan, chi2: nan, chiP: nan},
	{name: "empty current window", ref: []float64{1, 2}, cur: []float64{0, 0}, psi: nan, js: nan, ks: nan, chi2: nan, chiP: nan},
	{name: "empty reference window", ref: []float64{0, 0}, cur: []float64{1, 2}, psi: nan, js: nan, ks: nan, chi2: nan, chiP: nan},
	{name: "length mismatch", ref: []float64{1, 2}, cur: []float64{1, 2, 3}, psi: nan, js: nan, ks: nan, chi2: nan, chiP: nan},
	{name: "negative count", ref: []float64{-1, 2}, cur: []float64{1, 2}, psi: nan, js: nan, ks: nan, chi2: nan, chiP: nan},
	{name: "NaN count", ref: []float64{nan, 2}, cur: []float64{1, 2}, psi: nan, js: nan, ks: nan, chi2: nan, chiP: nan},
	{name: "Inf count", ref: []float64{1, 2}, cur: []float64{math.Inf(1), 2}, psi: nan, js: nan, ks: nan, chi2: nan, chiP: nan},
}

func TestPSI(t *testing.T) {
	for _, tt := range driftCases {
		t.Run(tt.name, func(t *testing.T) {
			checkFloat(t, "PSI", PSI(tt.ref, tt.cur), tt.psi)
		})
	}
}

func TestJSDivergence(t *testing.T) {
	for _, tt := range driftCases {
		t.Run(tt.name, func(t *testing.T) {
			checkFloat(t, "JSDivergence", JSDivergence(tt.ref, tt.cur), tt.js)
		})
	}
}

func TestKSStatistic(t *testing.T) {
	for _, tt := range driftCases {
		t.Run(tt.name, func(t *testing.T) {
			checkFloat(t, "KSStatistic", KSStatistic(tt.ref, tt.cur), tt.ks)
		})
	}
}

func TestWasserstein(t *testing.T) {
	ref := []float64{1, 2, 3.5, 5, 8}
	cur := []float64{1.5, 2, 3, 6, 10}
	tests := []struct {
		name     string
		ref, cur []float64
		sd       float64
		want     float64
	}{
		// |Δ| = .5 0 .5 1 2 → mean 4/5 = .8; /2.5 = .32.
		// scipy.stats.wasserstein_distance(ref, cur)/2.5 = 0.31999999999999995
		{"grid", ref, cur, 2.5, 0.31999999999999995},
		{"identical", ref, ref, 2.5, 0},
		// |Δ| = 4 → 4/1 / 2.
		{"single quantile", []float64{1}, []float64{5}, 2, 2},
		{"length mismatch", ref, cur[:4], 2.5, nan},
		{"empty", nil, nil, 1, nan},
		{"zero stddev", ref, cur, 0, nan},
		{"negative stddev", ref, cur, -1, nan},
		{"NaN stddev", ref, cur, nan, nan},
		{"Inf stddev", ref, cur, math.Inf(1), nan},
		{"NaN quantile", []float64{1, nan}, []float64{1, 2}, 1, nan},
		{"Inf quantile", []float64{1, 2}, []float64{1, math.Inf(-1)}, 1, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFloat(t, "Wasserstein", Wasserstein(tt.ref, tt.cur, tt.sd), tt.want)
		})
	}
}
