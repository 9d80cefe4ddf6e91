package stats

import (
	"math"
	"testing"
)

// tol is the default absolute tolerance for float comparisons.
const tol = 1e-9

// nan is shorthand for an expected undefined value.
var nan = math.NaN()

// approxEqual reports whether got equals want within tol; NaN equals only NaN and
// an infinity is never accepted.
func approxEqual(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsNaN(got) || math.IsInf(got, 0) {
		return false
	}
	return math.Abs(got-want) <= tol
}

func checkFloat(t *testing.T, name string, got, want float64) {
	t.Helper()
	if !approxEqual(got, want, tol) {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

func checkFloats(t *testing.T, name string, got, want []float64) {
	t.Helper()
	if (got == nil) != (want == nil) || len(got) != len(want) {
		t.Errorf("%s = %v, want %v", name, got, want)
		return
	}
	for i := range want {
		if !approxEqual(got[i], want[i], tol) {
			t.Errorf("%s = %v, want %v", name, got, want)
			return
		}
	}
}

// same reports whether a and b are the same value, NaN included.
func same(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}
