package stats

import "testing"

func TestChiSquare(t *testing.T) {
	for _, tt := range driftCases {
		t.Run(tt.name, func(t *testing.T) {
			stat, p := ChiSquare(tt.ref, tt.cur)
			checkFloat(t, "stat", stat, tt.chi2)
			checkFloat(t, "p", p, tt.chiP)
			checkFloat(t, "ChiSquareP", ChiSquareP(tt.ref, tt.cur), tt.chiP)
		})
	}
}

func TestPSICriticalValue(t *testing.T) {
	tests := []struct {
		name string
		n, m float64
		bins int
		want float64
	}{
		// scipy.stats.chi2.ppf(0.95, B-1)*(1/n+1/m) for each (n, m, B).
		{"10 bins", 1000, 500, 10, 0.050756932813861344},
		{"2 bins", 200, 200, 2, 0.03841458820694124},
		{"20 bins", 10000, 2500, 20, 0.01507176360282308},
		{"one bin", 1000, 500, 1, nan},
		{"zero bins", 1000, 500, 0, nan},
		{"no reference rows", 0, 500, 10, nan},
		{"no current rows", 1000, 0, 10, nan},
		{"negative rows", -5, 500, 10, nan},
		{"NaN rows", nan, 500, 10, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFloat(t, "PSICriticalValue", PSICriticalValue(tt.n, tt.m, tt.bins), tt.want)
		})
	}
}
