package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// ChiSquare runs Pearson's chi-square test of homogeneity on the 2×K table
// whose rows are the reference and current per-bin counts. Columns where
// both counts are 0 are dropped, leaving K' columns; the statistic is
// Σ (O−E)²/E with E = rowTotal·colTotal/N, df = K'−1, and p is the survival
// function of the chi-square distribution with df degrees of freedom. No
// Yates continuity correction is applied, even for df = 1 (this matches
// scipy.stats.chi2_contingency(table, correction=False)). Both results are
// NaN when the lengths differ, a count is negative or non-finite, K' < 2, or
// either row total is 0. Identical proportions give stat 0 and p 1.
func ChiSquare(ref, cur []float64) (stat, p float64) {
	nan := math.NaN()
	if _, _, ok := binProportions(ref, cur); !ok {
		return nan, nan
	}
	var rt, ct float64
	cols := 0
	for i := range ref {
		if ref[i] == 0 && cur[i] == 0 {
			continue
		}
		rt += ref[i]
		ct += cur[i]
		cols++
	}
	if cols < 2 {
		return nan, nan
	}
	n := rt + ct
	for i := range ref {
		col := ref[i] + cur[i]
		if col == 0 {
			continue
		}
		er, ec := rt*col/n, ct*col/n
		stat += (ref[i]-er)*(ref[i]-er)/er + (cur[i]-ec)*(cur[i]-ec)/ec
	}
	if math.IsNaN(stat) || math.IsInf(stat, 0) {
		return nan, nan
	}
	return stat, distuv.ChiSquared{K: float64(cols - 1)}.Survival(stat)
}

// ChiSquareP returns only the p-value of ChiSquare.
func ChiSquareP(ref, cur []float64) float64 {
	_, p := ChiSquare(ref, cur)
	return p
}

// PSICriticalValue returns the PSI above which drift is significant at the
// 5 % level for a reference sample of n rows and a current sample of m rows
// over the given number of bins: (1/n + 1/m)·χ²₀.₉₅(bins−1), the asymptotic
// critical value of PSI under the null hypothesis of no drift (Yurdakul,
// 2018). It is NaN when n ≤ 0, m ≤ 0 (or NaN) or bins < 2.
func PSICriticalValue(n, m float64, bins int) float64 {
	if !(n > 0) || !(m > 0) || bins < 2 {
		return math.NaN()
	}
	q := distuv.ChiSquared{K: float64(bins - 1)}.Quantile(0.95)
	return finite((1/n + 1/m) * q)
}
