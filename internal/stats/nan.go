package stats

import "math"

// finite maps ±Inf to NaN so that no exported function returns an infinity,
// as promised in the package documentation.
func finite(x float64) float64 {
	if math.IsInf(x, 0) {
		return math.NaN()
	}
	return x
}

// ratio returns num/den, or NaN when den is zero (0/0 and x/0 are both
// reported as undefined rather than as NaN/±Inf by accident).
func ratio(num, den float64) float64 {
	if den == 0 {
		return math.NaN()
	}
	return finite(num / den)
}
