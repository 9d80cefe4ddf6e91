package stats

import "math"

// DigestCDF is the distribution a merged t-digest describes, as points
// (value, share at or below) from the exact minimum (share 0) through the
// digest's quantiles to the exact maximum (share 1). The pre-aggregated drift
// window (docs/preaggregation.md) has no rows to bin, only each interval's
// digest, minimum and maximum: its bins are estimated from this distribution.
//
// Values compare as Float32, the digest's precision: a value the digest
// stores (Float32) and the same edge in Float64 are equal, not a rounding
// error apart.
type DigestCDF struct {
	min, max float64 // the exact extremes, as given
	q        []float32
	p        []float64
}

// maxRamp is the widest share over which the digest's quantiles climb from
// one run of tied values to the next. Tied values fill whole centroids of
// one mean, so the quantiles are flat across them and interpolate only from
// the last centroid of one run to the first of the next: at most two half
// centroids, 1% of the values, plus the grid's steps. The boundary between
// the runs — the share below the upper value — is best read at the middle
// of that climb, where the two half centroids meet, not at its top, which
// would count half a centroid of the upper value below it.
const maxRamp = 0.025

// NewDigestCDF builds the distribution of values in [lo, hi] whose quantile
// at levels[i] is quantiles[i]. NaN quantiles (a digest of nothing) and
// quantiles without a level are skipped; the rest are made monotone and
// kept within [lo, hi], whatever the digest's rounding.
func NewDigestCDF(lo, hi float64, levels, quantiles []float64) DigestCDF {
	d := DigestCDF{min: lo, max: hi, q: []float32{float32(lo)}, p: []float64{0}}
	for i, v := range quantiles {
		if i >= len(levels) || math.IsNaN(v) {
			continue
		}
		q := min(max(float32(v), d.q[len(d.q)-1]), float32(hi))
		d.q, d.p = append(d.q, q), append(d.p, levels[i])
	}
	d.q, d.p = append(d.q, float32(hi)), append(d.p, 1)
	return d
}

// Below estimates the share of values < e: linear between the points that
// bracket e, the first at or above it included; at the start of a run of
// tied values, the middle of the climb to it (maxRamp).
func (d DigestCDF) Below(e float64) float64 {
	x := float32(e)
	last := len(d.q) - 1
	switch {
	case math.IsNaN(e) || x <= d.q[0]:
		return 0
	case x > d.q[last]:
		return 1
	}
	hi := 1
	for d.q[hi] < x {
		hi++
	}
	if d.q[hi] == x && hi < last && d.q[hi+1] == x { // the start of a run of ties
		start := hi - 1
		for start > 0 && d.q[start-1] < d.q[start] {
			start--
		}
		if d.p[hi]-d.p[start] <= maxRamp {
			return (d.p[start] + d.p[hi]) / 2
		}
	}
	return d.interpolate(hi-1, hi, x)
}

// AtMost estimates the share of values ≤ e, with Below's tie handling at
// the end of a run of tied values.
func (d DigestCDF) AtMost(e float64) float64 {
	x := float32(e)
	last := len(d.q) - 1
	switch {
	case math.IsNaN(e) || x < d.q[0]:
		return 0
	case x >= d.q[last]:
		return 1
	}
	lo := last - 1
	for d.q[lo] > x {
		lo--
	}
	if d.q[lo] == x && lo > 0 && d.q[lo-1] == x { // the end of a run of ties
		end := lo + 1
		for end < last && d.q[end+1] > d.q[end] {
			end++
		}
		if d.p[end]-d.p[lo] <= maxRamp {
			return (d.p[lo] + d.p[end]) / 2
		}
	}
	return d.interpolate(lo, lo+1, x)
}

func (d DigestCDF) interpolate(i, j int, x float32) float64 {
	if d.q[j] == d.q[i] {
		return (d.p[i] + d.p[j]) / 2
	}
	t := float64(x-d.q[i]) / float64(d.q[j]-d.q[i])
	return d.p[i] + t*(d.p[j]-d.p[i])
}

// countOf is the share of n values, rounded to a whole count.
func countOf(n uint64, share float64) uint64 {
	return uint64(math.Round(float64(n) * min(max(share, 0), 1)))
}

// BinCounts estimates how n values fall into the bins that edges bound,
// (−∞, e1), [e1, e2), …, [ek, +∞): the share below each edge times n.
// Cumulative counts are rounded, so the bins sum to n exactly.
func (d DigestCDF) BinCounts(n uint64, edges []float64) []uint64 {
	bins := make([]uint64, len(edges)+1)
	var prev uint64
	for k, e := range edges {
		cum := max(prev, countOf(n, d.Below(e)))
		bins[k] = cum - prev
		prev = cum
	}
	bins[len(edges)] = n - prev
	return bins
}

// OutsideCount estimates how many of n values lie outside [lo, hi]. The
// exact minimum and maximum anchor the ends, so a distribution inside the
// range has none outside, exactly; a NaN bound has nothing beyond it.
func (d DigestCDF) OutsideCount(n uint64, lo, hi float64) uint64 {
	var out uint64
	if d.min < lo {
		out += countOf(n, d.Below(lo))
	}
	if d.max > hi {
		out += n - countOf(n, d.AtMost(hi))
	}
	return min(out, n)
}
