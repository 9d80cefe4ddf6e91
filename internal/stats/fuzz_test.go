package stats

import (
	"encoding/binary"
	"math"
	"testing"
)

// Fuzz targets for the statistics: whatever the aggregates, no function
// panics, none returns ±Inf, and every result is NaN (undefined) or in its
// range. The seed corpus runs with go test; fuzz each with e.g.
//
//	go test -run XXX -fuzz FuzzBinDrift -fuzztime 45s ./internal/stats

// decode turns fuzz bytes into numbers. The first byte picks the encoding:
// even, small non-negative counts (two bytes each), as ClickHouse returns
// them; odd, raw float64 bits (NaN, ±Inf, negative, subnormal, huge), which
// the functions must survive.
func decode(b []byte) []float64 {
	if len(b) == 0 {
		return nil
	}
	raw, b := b[0]%2 == 1, b[1:]
	var out []float64
	if raw {
		for ; len(b) >= 8; b = b[8:] {
			out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		}
		return out
	}
	for ; len(b) >= 2; b = b[2:] {
		out = append(out, float64(binary.LittleEndian.Uint16(b)))
	}
	return out
}

func counts(xs ...float64) []byte {
	b := []byte{0}
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func rawFloats(xs ...float64) []byte {
	b := []byte{1}
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// inRange fails unless v is NaN or in [lo, hi].
func inRange(t *testing.T, name string, v, lo, hi float64) {
	t.Helper()
	if math.IsNaN(v) {
		return
	}
	if math.IsInf(v, 0) || v < lo || v > hi {
		t.Fatalf("%s = %v, want NaN or in [%v, %v]", name, v, lo, hi)
	}
}

func nonNegative(t *testing.T, name string, v float64) {
	t.Helper()
	inRange(t, name, v, 0, math.MaxFloat64)
}

func FuzzBinDrift(f *testing.F) {
	for _, s := range [][2][]byte{
		{counts(10, 20, 30), counts(10, 20, 30)},
		{counts(10, 0, 0), counts(0, 0, 10)},
		{counts(0, 0), counts(0, 0)},
		{counts(), counts()},
		{counts(1, 2), counts(1, 2, 3)},
		{counts(65535, 1, 0, 7), counts(3, 65535, 65535, 0)},
		{rawFloats(1, math.NaN(), 3), rawFloats(1, 2, 3)},
		{rawFloats(math.Inf(1), 1), rawFloats(1, 1)},
		{rawFloats(-1, 2), rawFloats(1, 2)},
		{rawFloats(math.MaxFloat64, math.MaxFloat64), rawFloats(1, 1)},
		{rawFloats(5e-324, 0), rawFloats(0, 5e-324)},
	} {
		f.Add(s[0], s[1], 10.0, 20.0)
	}
	f.Fuzz(func(t *testing.T, refB, curB []byte, n, m float64) {
		ref, cur := decode(refB), decode(curB)
		nonNegative(t, "PSI", PSI(ref, cur))
		inRange(t, "JSDivergence", JSDivergence(ref, cur), 0, 1)
		inRange(t, "KSStatistic", KSStatistic(ref, cur), 0, 1)
		stat, p := ChiSquare(ref, cur)
		nonNegative(t, "ChiSquare statistic", stat)
		inRange(t, "ChiSquare p", p, 0, 1)
		if math.IsNaN(stat) != math.IsNaN(p) {
			t.Fatalf("ChiSquare = %v, %v: both or neither undefined", stat, p)
		}
		nonNegative(t, "PSICriticalValue", PSICriticalValue(n, m, len(ref)))
		// Proportions trusts its caller (the drift functions validate
		// first): check it on counts only.
		if props := Proportions(ref); props != nil && refB[0]%2 == 0 {
			var sum float64
			for _, x := range props {
				inRange(t, "Proportions", x, 0, 1)
				sum += x
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Fatalf("Proportions sum to %v", sum)
			}
		}
		// Identical distributions show no drift.
		if psi := PSI(ref, ref); !math.IsNaN(psi) && psi != 0 {
			t.Fatalf("PSI(x, x) = %v", psi)
		}
		if ks := KSStatistic(ref, ref); !math.IsNaN(ks) && ks != 0 {
			t.Fatalf("KS(x, x) = %v", ks)
		}
	})
}

func FuzzWasserstein(f *testing.F) {
	f.Add(rawFloats(1, 2, 3), rawFloats(1, 2, 3), 1.0)
	f.Add(rawFloats(1, 2, 3), rawFloats(4, 5, 6), 0.5)
	f.Add(rawFloats(math.MaxFloat64, 0), rawFloats(-math.MaxFloat64, 0), 1e-300)
	f.Add(rawFloats(1, math.NaN()), rawFloats(1, 2), 1.0)
	f.Add(rawFloats(1), rawFloats(1, 2), 1.0)
	f.Add(counts(1, 2), counts(3, 4), 0.0)
	f.Fuzz(func(t *testing.T, refB, curB []byte, sd float64) {
		nonNegative(t, "Wasserstein", Wasserstein(decode(refB), decode(curB), sd))
	})
}

func FuzzQuantileEdges(f *testing.F) {
	f.Add(rawFloats(3, 1, 2, 2, math.NaN(), math.Inf(1)), 2.0)
	f.Add(counts(5, 5, 5), 5.0)
	f.Add([]byte{}, math.NaN())
	f.Fuzz(func(t *testing.T, qB []byte, x float64) {
		edges := QuantileEdges(decode(qB))
		for i, e := range edges {
			if math.IsNaN(e) || math.IsInf(e, 0) || (i > 0 && !(edges[i-1] < e)) {
				t.Fatalf("edges not finite and strictly increasing: %v", edges)
			}
		}
		i := BinIndex(edges, x)
		if math.IsNaN(x) {
			if i != -1 {
				t.Fatalf("BinIndex(NaN) = %d", i)
			}
			return
		}
		if i < 0 || i > len(edges) || (i > 0 && edges[i-1] > x) || (i < len(edges) && edges[i] <= x) {
			t.Fatalf("BinIndex(%v, %v) = %d", edges, x, i)
		}
	})
}

// buckets decodes triples (score, positives, negatives); counts are
// non-negative (abs), as the contract requires, scores anything.
func buckets(b []byte) []ScoreBucket {
	xs := decode(b)
	var out []ScoreBucket
	for ; len(xs) >= 3; xs = xs[3:] {
		score := xs[0]
		if len(b) > 0 && b[0]%2 == 0 {
			score /= 1000 // counts encoding: scores on the 1/1000 grid
		}
		out = append(out, ScoreBucket{Score: score, Positives: math.Abs(xs[1]), Negatives: math.Abs(xs[2])})
	}
	return out
}

func FuzzROCAUC(f *testing.F) {
	f.Add(counts(100, 5, 0, 900, 0, 5))
	f.Add(counts(500, 3, 3))
	f.Add(counts(100, 5, 0))
	f.Add(rawFloats(0.5, math.Inf(1), 1, 0.2, 1, math.Inf(1)))
	f.Add(rawFloats(math.NaN(), 1, 1))
	f.Add(rawFloats(math.Inf(-1), 1, 0, math.Inf(1), 0, 1))
	f.Add(rawFloats(0.1, math.MaxFloat64, math.MaxFloat64, 0.2, math.MaxFloat64, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		bs := buckets(b)
		inRange(t, "ROCAUC", ROCAUC(bs), 0, 1)
		// Negative counts break the contract; still no panic, no Inf.
		for i := range bs {
			bs[i].Negatives = -bs[i].Negatives
		}
		if v := ROCAUC(bs); math.IsInf(v, 0) {
			t.Fatalf("ROCAUC with negative counts = %v", v)
		}
	})
}

// confusion decodes triples (actual, predicted, count) over a small label
// alphabet, so that labels collide and classes go missing.
func confusion(b []byte) Confusion {
	xs := decode(b)
	labels := []string{"a", "b", "c", "", "__other__"}
	c := Confusion{}
	for ; len(xs) >= 3; xs = xs[3:] {
		a, p := labels[labelIndex(xs[0], len(labels))], labels[labelIndex(xs[1], len(labels))]
		if c[a] == nil {
			c[a] = map[string]float64{}
		}
		c[a][p] += xs[2]
	}
	return c
}

func labelIndex(x float64, n int) int {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return int(math.Mod(math.Abs(math.Trunc(x)), float64(n)))
}

func FuzzClassify(f *testing.F) {
	f.Add(counts(0, 0, 50, 0, 1, 10, 1, 1, 40), 2)
	f.Add(counts(0, 0, 50), 1)
	f.Add(counts(2, 1, 7, 1, 2, 0), 5)
	f.Add(counts(), 3)
	f.Add(rawFloats(0, 0, math.MaxFloat64, 1, 1, math.MaxFloat64), 1)
	f.Add(rawFloats(0, 1, math.Inf(1), 1, 0, math.NaN()), 2)
	f.Add(rawFloats(0, 0, 5e-324, 1, 1, 1e300), 0)
	f.Fuzz(func(t *testing.T, b []byte, k int) {
		c := confusion(b)
		valid := len(b) > 0 && b[0]%2 == 0 // non-negative finite counts
		check := inRange
		if !valid {
			// Outside the contract only the absence of panics and of
			// infinities is promised.
			check = func(t *testing.T, name string, v, _, _ float64) {
				t.Helper()
				if math.IsInf(v, 0) {
					t.Fatalf("%s = %v", name, v)
				}
			}
		}
		r := Classify(c)
		check(t, "Accuracy", r.Accuracy, 0, 1)
		for _, avg := range []Average{r.Macro, r.Weighted, r.Micro} {
			check(t, "Precision", avg.Precision, 0, 1)
			check(t, "Recall", avg.Recall, 0, 1)
			check(t, "F1", avg.F1, 0, 1)
		}
		for l, s := range r.Classes {
			check(t, l+" precision", s.Precision, 0, 1)
			check(t, l+" recall", s.Recall, 0, 1)
			check(t, l+" F1", s.F1, 0, 1)
		}
		kept := TopClasses(c, k)
		if (k <= 0 && kept != nil) || len(kept) > max(k, 0) {
			t.Fatalf("TopClasses(%d) = %v", k, kept)
		}
		capped := c.Capped(kept, OtherCategory)
		if len(capped) > len(kept)+1 {
			t.Fatalf("Capped to %v kept %d rows", kept, len(capped))
		}
		if valid {
			var before, after float64
			for _, row := range c {
				for _, n := range row {
					before += n
				}
			}
			for _, row := range capped {
				if len(row) > len(kept)+1 {
					t.Fatalf("Capped row has %d columns for %d kept classes", len(row), len(kept))
				}
				for _, n := range row {
					after += n
				}
			}
			if before != after {
				t.Fatalf("Capped lost counts: %v -> %v", before, after)
			}
		}
	})
}

func FuzzRegress(f *testing.F) {
	f.Add(rawFloats(10, 20, 50, 3, 9, 4))
	f.Add(rawFloats(0, 0, 0, 0, 0, 0))
	f.Add(rawFloats(1, 0, 0, 0, 0, 0))
	f.Add(rawFloats(2, math.MaxFloat64, math.MaxFloat64, 1, 1, 5e-324))
	f.Add(rawFloats(math.Inf(1), 1, 1, 1, 1, 1))
	f.Add(counts(10, 20, 50, 3, 9, 4))
	f.Fuzz(func(t *testing.T, b []byte) {
		xs := append(decode(b), make([]float64, 6)...)
		s := RegressionSums{N: xs[0], SumAbsError: xs[1], SumSqError: xs[2], SumAbsPctErr: xs[3], NNonZero: xs[4], LabelVarPop: xs[5]}
		r := Regress(s)
		for name, v := range map[string]float64{"MAE": r.MAE, "RMSE": r.RMSE, "MAPE": r.MAPE, "R2": r.R2} {
			if math.IsInf(v, 0) {
				t.Fatalf("%s = %v for %+v", name, v, s)
			}
		}
		if len(b) > 0 && b[0]%2 == 0 { // sums of real rows: non-negative
			nonNegative(t, "MAE", r.MAE)
			nonNegative(t, "RMSE", r.RMSE)
			nonNegative(t, "MAPE", r.MAPE)
			inRange(t, "R2", r.R2, -math.MaxFloat64, 1)
		}
	})
}
