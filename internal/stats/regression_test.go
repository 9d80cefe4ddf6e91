package stats

import "testing"

func TestRegress(t *testing.T) {
	tests := []struct {
		name string
		s    RegressionSums
		want RegressionReport
	}{
		{
			// y = [3, -0.5, 2, 7, 0, 4], p = [2.5, 0, 2, 8, 0.5, 3].
			// |p−y| = [.5, .5, 0, 1, .5, 1] → Σ = 3.5; (p−y)² → Σ = 2.75;
			// Σ|p−y|/|y| over y≠0 = .5/3+.5/.5+0+1/7+1/4 = 1.5595238095238095;
			// NNonZero = 5; np.var(y) = 6.3680555555555545.
			// MAE: sklearn.metrics.mean_absolute_error(y, p) = 0.5833333333333334
			// RMSE: np.sqrt(sklearn.metrics.mean_squared_error(y, p)) = 0.67700320038633
			// R2: sklearn.metrics.r2_score(y, p) = 0.9280261723009815
			// MAPE: sklearn.metrics.mean_absolute_percentage_error(y[y!=0], p[y!=0])
			//       = 0.3119047619047619 (the y=0 row is excluded).
			name: "mixed",
			s: RegressionSums{
				N: 6, SumAbsError: 3.5, SumSqError: 2.75,
				SumAbsPctErr: 1.5595238095238095, NNonZero: 5,
				LabelVarPop: 6.3680555555555545,
			},
			want: RegressionReport{
				MAE: 0.5833333333333334, RMSE: 0.67700320038633,
				MAPE: 0.3119047619047619, R2: 0.9280261723009815,
			},
		},
		{
			// Exact predictions of y = [1, 2, 3]: errors 0, varPop = 2/3,
			// R² = 1 − 0/(3·2/3) = 1.
			name: "perfect",
			s:    RegressionSums{N: 3, NNonZero: 3, LabelVarPop: 2.0 / 3},
			want: RegressionReport{MAE: 0, RMSE: 0, MAPE: 0, R2: 1},
		},
		{
			// y = [5, 5], p = [4, 7]: MAE = 3/2, RMSE = sqrt(5/2),
			// MAPE = (1/5+2/5)/2 = 0.3, varPop = 0 → R² undefined.
			name: "constant labels",
			s:    RegressionSums{N: 2, SumAbsError: 3, SumSqError: 5, SumAbsPctErr: 0.6, NNonZero: 2},
			want: RegressionReport{MAE: 1.5, RMSE: 1.5811388300841898, MAPE: 0.3, R2: nan},
		},
		{
			// y = [0, 0, 2], p = [1, -1, 2]: MAE = 2/3, RMSE = sqrt(2/3),
			// MAPE = 0/1 (only the y=2 row counts),
			// varPop: mean 2/3, ((4/9)·2 + 16/9)/3 = 8/9,
			// R² = 1 − 2/(3·8/9) = 1 − 0.75 = 0.25.
			name: "zero labels excluded from MAPE",
			s:    RegressionSums{N: 3, SumAbsError: 2, SumSqError: 2, SumAbsPctErr: 0, NNonZero: 1, LabelVarPop: 8.0 / 9},
			want: RegressionReport{MAE: 2.0 / 3, RMSE: 0.816496580927726, MAPE: 0, R2: 0.25},
		},
		{
			// y = [0, 0], p = [1, 3]: MAE = 4/2, RMSE = sqrt(10/2); no y≠0
			// row → MAPE undefined; constant labels → R² undefined.
			name: "all labels zero",
			s:    RegressionSums{N: 2, SumAbsError: 4, SumSqError: 10},
			want: RegressionReport{MAE: 2, RMSE: 2.23606797749979, MAPE: nan, R2: nan},
		},
		{
			// One row: y = 2, p = 4. MAE = 2, RMSE = sqrt(4) = 2,
			// MAPE = 2/2 = 1; R² undefined for N < 2.
			name: "single row",
			s:    RegressionSums{N: 1, SumAbsError: 2, SumSqError: 4, SumAbsPctErr: 1, NNonZero: 1},
			want: RegressionReport{MAE: 2, RMSE: 2, MAPE: 1, R2: nan},
		},
		{
			name: "no rows",
			s:    RegressionSums{},
			want: RegressionReport{MAE: nan, RMSE: nan, MAPE: nan, R2: nan},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Regress(tt.s)
			checkFloat(t, "MAE", got.MAE, tt.want.MAE)
			checkFloat(t, "RMSE", got.RMSE, tt.want.RMSE)
			checkFloat(t, "MAPE", got.MAPE, tt.want.MAPE)
			checkFloat(t, "R2", got.R2, tt.want.R2)
		})
	}
}
