package stats

import "math"

// RegressionSums are the aggregates computed in SQL over the joined
// (prediction p, label y) rows of a window.
type RegressionSums struct {
	N            float64 // rows
	SumAbsError  float64 // Σ|p−y|
	SumSqError   float64 // Σ(p−y)²
	SumAbsPctErr float64 // Σ|p−y|/|y| over rows with y ≠ 0
	NNonZero     float64 // rows with y ≠ 0
	LabelVarPop  float64 // population variance of y (ClickHouse varPop)
}

// RegressionReport holds regression error metrics; see Regress.
type RegressionReport struct {
	MAE, RMSE, MAPE, R2 float64
}

// Regress derives regression metrics from their sums:
//
//   - MAE = SumAbsError/N
//   - RMSE = sqrt(SumSqError/N)
//   - MAPE = SumAbsPctErr/NNonZero, a fraction (0.1 = 10 %), NaN when
//     NNonZero is 0. Rows with y = 0 are excluded from both sums. This
//     differs from scikit-learn's mean_absolute_percentage_error, which keeps
//     those rows and divides by max(|y|, ε), producing huge values.
//   - R2 = 1 − SumSqError/(N·LabelVarPop), the coefficient of determination
//     (scikit-learn's r2_score), since N·varPop(y) = Σ(y−ȳ)². NaN when
//     N < 2 or LabelVarPop ≤ 0 (constant labels). Note that a varPop
//     computed in floating point for constant labels may be a tiny positive
//     number instead of exactly 0.
//
// Every field is NaN when N is 0.
func Regress(s RegressionSums) RegressionReport {
	if s.N <= 0 {
		nan := math.NaN()
		return RegressionReport{MAE: nan, RMSE: nan, MAPE: nan, R2: nan}
	}
	r := RegressionReport{
		MAE:  ratio(s.SumAbsError, s.N),
		RMSE: finite(math.Sqrt(ratio(s.SumSqError, s.N))),
		MAPE: ratio(s.SumAbsPctErr, s.NNonZero),
		R2:   math.NaN(),
	}
	if s.N >= 2 && s.LabelVarPop > 0 {
		r.R2 = finite(1 - s.SumSqError/(s.N*s.LabelVarPop))
	}
	return r
}
