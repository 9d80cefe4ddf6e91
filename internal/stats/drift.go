package stats

import (
	"math"
	"slices"
	"sort"
)

// PSIEpsilon replaces a zero bin proportion in PSI so that the logarithm
// stays finite.
const PSIEpsilon = 0.0001

// OtherCategory is the name of the bucket everything outside a kept top-K
// falls into: in drift, the bin of every categorical value outside the
// reference window's top categories; in classification, the class every
// label outside the max_classes most frequent ones is folded into (the
// per-class and confusion-matrix series, and the negative class of a binary
// model that has none or several).
const OtherCategory = "__other__"

// QuantileEdges turns the reference window's quantiles at 1/B … (B−1)/B into
// bin edges: it sorts a copy, drops NaN and ±Inf, and removes duplicates
// (exact equality). With edges e1<…<ek there are k+1 bins,
// (−∞,e1), [e1,e2), …, [ek,+∞); −∞ and +∞ are implied and never returned.
// The result is empty (possibly nil) when no finite quantile is given, which
// means a single bin.
func QuantileEdges(q []float64) []float64 {
	edges := make([]float64, 0, len(q))
	for _, x := range q {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			edges = append(edges, x)
		}
	}
	slices.Sort(edges)
	return slices.Compact(edges)
}

// BinIndex returns the index of the bin that holds x under the edges returned
// by QuantileEdges: the number of edges ≤ x, so x = ei falls into bin i
// ([ei,ei+1)). It returns −1 for NaN, which belongs to no bin.
func BinIndex(edges []float64, x float64) int {
	if math.IsNaN(x) {
		return -1
	}
	return sort.Search(len(edges), func(i int) bool { return edges[i] > x })
}

// Proportions divides counts by their total. It returns nil when counts is
// empty or its total is not positive (all zero, or NaN), since proportions of
// nothing are undefined.
func Proportions(counts []float64) []float64 {
	var total float64
	for _, n := range counts {
		total += n
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return nil
	}
	p := make([]float64, len(counts))
	for i, n := range counts {
		p[i] = n / total
	}
	return p
}

// binProportions validates a pair of per-bin count vectors (same non-zero
// length, finite non-negative counts, positive totals) and returns their
// proportions; ok is false when any check fails.
func binProportions(ref, cur []float64) (r, c []float64, ok bool) {
	if len(ref) == 0 || len(ref) != len(cur) {
		return nil, nil, false
	}
	for i := range ref {
		if !validCount(ref[i]) || !validCount(cur[i]) {
			return nil, nil, false
		}
	}
	r, c = Proportions(ref), Proportions(cur)
	return r, c, r != nil && c != nil
}

func validCount(n float64) bool {
	return n >= 0 && !math.IsInf(n, 1)
}

// PSI returns the Population Stability Index of per-bin counts:
// Σ (cᵢ − rᵢ)·ln(cᵢ/rᵢ) over the bin proportions, where a zero proportion
// (on either side) is first replaced by PSIEpsilon. As the contract
// specifies, the proportions are not renormalised after that replacement.
// It is NaN when the lengths differ, the input is empty, a count is negative
// or non-finite, or either side has a zero total.
func PSI(ref, cur []float64) float64 {
	r, c, ok := binProportions(ref, cur)
	if !ok {
		return math.NaN()
	}
	var psi float64
	for i := range r {
		ri, ci := r[i], c[i]
		if ri == 0 {
			ri = PSIEpsilon
		}
		if ci == 0 {
			ci = PSIEpsilon
		}
		psi += (ci - ri) * math.Log(ci/ri)
	}
	return finite(psi)
}

// JSDivergence returns the Jensen–Shannon divergence of per-bin counts,
// ½·KL(R‖M) + ½·KL(C‖M) with M = (R+C)/2, in bits (log base 2), so it lies in
// [0, 1]: 0 for identical and 1 for disjoint distributions. Terms with a zero
// proportion contribute 0 (no epsilon). It is the square of SciPy's
// jensenshannon distance with base=2. The result is clamped to [0, 1] to hide
// rounding error. It is NaN under the same conditions as PSI.
func JSDivergence(ref, cur []float64) float64 {
	r, c, ok := binProportions(ref, cur)
	if !ok {
		return math.NaN()
	}
	var js float64
	for i := range r {
		m := (r[i] + c[i]) / 2
		if r[i] > 0 {
			js += r[i] * math.Log2(r[i]/m)
		}
		if c[i] > 0 {
			js += c[i] * math.Log2(c[i]/m)
		}
	}
	return min(max(js/2, 0), 1)
}

// KSStatistic returns the largest absolute difference between the cumulative
// proportions of the reference and current counts, evaluated at the bin
// boundaries. Because values inside a bin are not seen, it is a lower bound
// of the exact two-sample Kolmogorov–Smirnov statistic of the raw values
// (and equals it when each bin holds a single distinct value). A single bin
// gives 0. It is NaN under the same conditions as PSI.
func KSStatistic(ref, cur []float64) float64 {
	if _, _, ok := binProportions(ref, cur); !ok {
		return math.NaN()
	}
	var rt, ct float64
	for i := range ref {
		rt += ref[i]
		ct += cur[i]
	}
	// Cumulate counts and divide once per boundary rather than summing
	// rounded proportions.
	var rc, cc, ks float64
	for i := range ref {
		rc += ref[i]
		cc += cur[i]
		ks = max(ks, math.Abs(rc/rt-cc/ct))
	}
	return ks
}

// Wasserstein returns the normalised 1-Wasserstein (earth mover's) distance
// approximated on a shared quantile grid: the mean of |Q_ref(u) − Q_cur(u)|
// over the given quantiles (refQuantiles[i] and curQuantiles[i] must be the
// quantiles at the same probability u_i, equally spaced), divided by the
// reference standard deviation so that it is unit-free. It is NaN when the
// lengths differ or are 0, when any value is NaN or ±Inf, or when refStdDev
// is not a positive finite number.
func Wasserstein(refQuantiles, curQuantiles []float64, refStdDev float64) float64 {
	if len(refQuantiles) == 0 || len(refQuantiles) != len(curQuantiles) ||
		!(refStdDev > 0) || math.IsInf(refStdDev, 1) {
		return math.NaN()
	}
	var sum float64
	for i, r := range refQuantiles {
		c := curQuantiles[i]
		if math.IsNaN(r) || math.IsInf(r, 0) || math.IsNaN(c) || math.IsInf(c, 0) {
			return math.NaN()
		}
		sum += math.Abs(r - c)
	}
	return finite(sum / float64(len(refQuantiles)) / refStdDev)
}
