package chquery

import (
	"math"
	"testing"
)

// Each value's key, moved to a segment slot's feature range as the window
// pass's SQL moves it (featureKeysSQL: the column's key plus a constant and
// the slot times the slot's width), folds into that slot's bin of that
// column, which wantNumeric and wantCategory compute from the column's
// definition, and nowhere else; a key past the last slot is an error
// rather than a count.
func TestSegmentFeatureKeysFold(t *testing.T) {
	cols := keyColumns()
	for _, scores := range []bool{false, true} {
		segs := &Segments{Output: 1, Columns: []Segment{
			{Column: "country", Values: []string{"BR", "US"}, Features: true},
			{Column: "app", Values: []string{"7"}},
			{Column: "os", Values: []string{"a", "b", "c"}, Features: true},
		}}
		k := windowSegmentKeys{newStateKeys(cols, scores), segs}
		feats := k.features()
		if len(feats) != len(cols)-1 {
			t.Fatalf("features %v: want every column but the output", feats)
		}
		move := func(j, slot, f int, key uint64) uint64 {
			return key - k.layout.base(feats[f]) + k.featureBase(j) + k.featureOffset(f) + uint64(slot)*k.featureSlotKeys()
		}
		numbers := []float64{math.NaN(), 16, 18, 30.5, 45, 90, 15.999, 90.001, 2, 1000, -5}
		values := []string{"basic", "pro", "team", "eu", "us", ""}
		for _, j := range []int{0, 2} {
			for slot := range segs.Columns[j].Slots() {
				for f, i := range feats {
					c := cols[i]
					var ws WindowStats
					k.alloc(&ws)
					var want []windowState
					if c.Numeric {
						for _, x := range numbers {
							if err := k.fold(&ws, move(j, slot, f, k.layout.numericKey(i, x)), 1); err != nil {
								t.Fatalf("segment %d slot %d column %s value %g: %v", j, slot, c.Name, x, err)
							}
							want = append(want, wantNumeric(c, i, x))
						}
					} else {
						for _, v := range append([]*string{nil}, ptrs(values)...) {
							if err := k.fold(&ws, move(j, slot, f, k.layout.categoryKey(i, v)), 1); err != nil {
								t.Fatalf("segment %d slot %d column %s value %v: %v", j, slot, c.Name, v, err)
							}
							want = append(want, wantCategory(c, i, v))
						}
					}
					wantBins, wantMissing := make([]uint64, binCount(c)), uint64(0)
					for _, w := range want {
						if w.missing {
							wantMissing++
						} else {
							wantBins[w.bin]++
						}
					}
					for jj := range ws.Segments {
						for ss := range ws.Segments[jj] {
							got := ws.Segments[jj][ss]
							if got.Rows != 0 || (got.Scores != nil && got.Scores.Scored()+got.Scores.Unscored != 0) {
								t.Errorf("feature keys counted as rows or scores in segment %d slot %d", jj, ss)
							}
							for ii, cs := range got.Columns {
								if jj == j && ss == slot && ii == i {
									if cs.Missing != wantMissing || !equalCounts(cs.Bins, wantBins) {
										t.Errorf("segment %d slot %d column %s: bins %v missing %d, want %v %d", j, slot, c.Name, cs.Bins, cs.Missing, wantBins, wantMissing)
									}
									continue
								}
								if sumCounts(cs.Bins)+cs.Missing != 0 {
									t.Errorf("segment %d slot %d column %s's values counted in segment %d slot %d column %d", j, slot, c.Name, jj, ss, ii)
								}
							}
						}
					}
				}
			}
		}
		if len(segs.Columns[1].Values) > 0 {
			var ws WindowStats
			k.alloc(&ws)
			if ws.Segments[1][0].Columns != nil {
				t.Error("a segment without Features has feature bins")
			}
		}
		// The features' states are packed (no gap between them): only a
		// key past the last slot is foreign.
		var ws WindowStats
		k.alloc(&ws)
		if err := k.fold(&ws, k.end(), 1); err == nil {
			t.Errorf("scores %v: key %d past the last slot folded", scores, k.end())
		}
	}
}

func equalCounts(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sumCounts(xs []uint64) uint64 {
	var s uint64
	for _, x := range xs {
		s += x
	}
	return s
}
