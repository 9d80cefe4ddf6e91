package chquery

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
)

// The segment values' class score keys round-trip: every (segment, slot,
// predicted class, class, score) lands in its slot's histogram, in the
// whole model's bucket of its coarse bucket (worked out by hand below), and
// nowhere else; a row with a score not finite counts once as unscored.
func TestSegmentClassScoreKeysFold(t *testing.T) {
	const k = 3
	segs := &Segments{Output: 1, ClassScores: true, Columns: []Segment{
		{Column: "country", Values: []string{"BR", "US"}, Features: true},
		{Column: "app", Values: []string{"7"}},
	}}
	layout := newStateKeys(keyColumns(), false)
	layout.classes = k
	sk := windowSegmentKeys{layout, segs}
	if sk.classBase(0) != sk.featureBase(len(segs.Columns)) || sk.end() != sk.classBase(2) {
		t.Fatalf("class range [%d, %d) is not after the feature keys (%d) and at the end (%d)", sk.classBase(0), sk.classBase(2), sk.featureBase(2), sk.end())
	}
	// Score -> the whole model's bucket index of its coarse bucket: the
	// fine bucket round(1000·s) (half up), then its multiple of 20 (half
	// up), clamped to [0, 1].
	scores := []struct {
		s    float64
		want int
	}{{0, 0}, {0.0091, 0}, {0.0099, 20}, {0.03, 40}, {0.5, 500}, {0.9894, 980}, {0.9896, 1000}, {1, 1000}, {1.7, 1000}, {-0.3, 0}}
	for j, sg := range segs.Columns {
		for v := range sg.Slots() {
			for i := range k + 1 {
				for c := range k {
					for _, sc := range scores {
						var ws WindowStats
						sk.alloc(&ws)
						if err := sk.fold(&ws, sk.classKey(j, v, i, c, sc.s, true), 1); err != nil {
							t.Fatalf("segment %d slot %d cell (%d, %d) score %g: %v", j, v, i, c, sc.s, err)
						}
						for jj := range ws.Segments {
							for vv := range ws.Segments[jj] {
								h := ws.Segments[jj][vv].ClassScores
								for ii := range h.Rows {
									for cc := range h.Rows[ii] {
										for b, n := range h.Rows[ii][cc] {
											want := uint64(0)
											if jj == j && vv == v && ii == i && cc == c && b == sc.want {
												want = 1
											}
											if n != want {
												t.Fatalf("segment %d slot %d cell (%d, %d) score %g: segment %d slot %d cell (%d, %d) bucket %d has %d", j, v, i, c, sc.s, jj, vv, ii, cc, b, n)
											}
										}
									}
								}
								if h.Unscored != 0 || ws.Segments[jj][vv].Rows != 0 {
									t.Fatalf("a class score key counted as rows or unscored")
								}
							}
						}
					}
				}
			}
			// Unscored: K keys per row, one row.
			var ws WindowStats
			sk.alloc(&ws)
			for c := range k {
				if err := sk.fold(&ws, sk.classKey(j, v, 0, c, math.NaN(), false), 1); err != nil {
					t.Fatal(err)
				}
			}
			sk.finishClassScores(&ws)
			if h := ws.Segments[j][v].ClassScores; h.Unscored != 1 || h.Scored() != 0 {
				t.Errorf("segment %d slot %d: unscored %d scored %d, want 1 and 0", j, v, h.Unscored, h.Scored())
			}
		}
	}
	var ws WindowStats
	sk.alloc(&ws)
	if err := sk.fold(&ws, sk.end(), 1); err == nil {
		t.Error("a key past the class score range folded")
	}
	// Without Segments.ClassScores, or without the whole model's class
	// scores, the segments own no class keys.
	for _, off := range []windowSegmentKeys{{layout, &Segments{Output: 1, Columns: segs.Columns}}, {newStateKeys(keyColumns(), false), segs}} {
		if off.classKeys() != 0 || off.classInnerSQL() != nil || off.classKeysSQL() != nil {
			t.Error("class score keys without both switches")
		}
	}
}

// The claim of SegmentScoreBuckets: a 4-class model with 25 features (20
// numeric of 10 bins, 5 categorical of 20 categories), its prediction as
// output, and two segment columns of 10 values keeps every key of the
// window pass 16-bit with the segment values' class scores, with or
// without per-segment feature drift on both; at the whole model's
// resolution, or at 1/100, it would not.
func TestSegmentClassScoreKeysFit16Bits(t *testing.T) {
	var cols []Binning
	for range 20 {
		cols = append(cols, Binning{Column: Column{Name: "n", Numeric: true}, Edges: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, Min: 0, Max: 10})
	}
	cats := make([]string, 20)
	for i := range cats {
		cats[i] = strconv.Itoa(i)
	}
	for range 5 {
		cols = append(cols, Binning{Column: Column{Name: "c"}, Categories: cats})
	}
	cols = append(cols, Binning{Column: Column{Name: "prediction"}, Categories: []string{"a", "b", "c", "d"}})
	values := []string{"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"}
	layout := newStateKeys(cols, false)
	layout.classes = 4
	for _, fd := range []bool{false, true} {
		segs := &Segments{Output: len(cols) - 1, ClassScores: true, Columns: []Segment{
			{Column: "s1", Values: values, Features: fd}, {Column: "s2", Values: values, Features: fd}}}
		sk := windowSegmentKeys{layout, segs}
		if got := sk.keyType(); got != "toUInt16" {
			t.Errorf("feature drift %v: keys up to %d are %s, want toUInt16", fd, sk.end()-1, got)
		}
		// 22 slots of (K + 1)·K·(B + 1) + 1 keys, B = 100 or 1000.
		for _, b := range []uint64{100, 1000} {
			if end := sk.end() - sk.classKeys() + 22*(1+20*(b+1)); end-1 <= math.MaxUint16 {
				t.Errorf("feature drift %v: at %d buckets the keys would end at %d, within 16 bits: the coarser buckets need no justification", fd, b, end)
			}
		}
		t.Logf("feature drift %v: keys end at %d (class score keys %d)", fd, sk.end(), sk.classKeys())
	}
}

// The window pass counts each segment value's class scores on ClickHouse
// as the Go twin encodes them: hand-worked coarse buckets per slot, and,
// for each segment column, the slots' histograms summing to the whole
// model's, merged into the coarse buckets.
func TestSegmentClassScoreHistograms(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS mcseg_p",
		"CREATE TABLE mcseg_p (ts DateTime, id String, pred String, pa Nullable(Float64), pb Float64, pc Float64, seg Nullable(String)) ENGINE = MergeTree ORDER BY ts",
	); err != nil {
		t.Fatal(err)
	}
	s := func(v string) *string { return &v }
	f := func(v float64) *float64 { return &v }
	rows := []struct {
		pred   string
		pa     *float64
		pb, pc float64
		seg    *string
	}{
		{"a", f(0.7), 0.2, 0.1, s("x")},          // 0: predicted 0
		{"b", f(0.0099), 0.9894, 0.0007, s("x")}, // 1: predicted 1
		{"z", f(0.0091), 0.9896, 1.7, nil},       // 2: predicted 3 (no class)
		{"a", nil, 0.5, 0.5, s("x")},             // 3: unscored
		{"c", f(0.3), 0.3, 0.4, s("y")},          // 4: predicted 2
	}
	const at = 1700000000
	batch, err := server.Conn().PrepareBatch(ctx, "INSERT INTO mcseg_p (ts, id, pred, pa, pb, pc, seg)")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if err := batch.Append(time.Unix(at, 0), "r"+strconv.Itoa(i), r.pred, r.pa, r.pb, r.pc, r.seg); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	m := &config.Model{Name: "m", Task: config.TaskMulticlass,
		Predictions: config.Predictions{Table: "mcseg_p", Timestamp: "ts", ID: "id", Prediction: "pred"},
		Scores:      map[string]string{"c": "pc", "a": "pa", "b": "pb"}}
	segs := &Segments{Output: -1, ClassScores: true, Columns: []Segment{
		{Column: "seg", Values: []string{"x"}}, {Column: "pred", Values: []string{"a", "c"}}}}
	cols := []Binning{{Column: Column{Name: "pb", Numeric: true}, Edges: []float64{0.5}, Min: 0, Max: 1}}
	ws, err := testClient(t).Window(ctx, m, Source{Window: Window{From: time.Unix(at, 0), To: time.Unix(at+1, 0)}, ClassScores: true, Segments: segs}, cols, "drift")
	if err != nil {
		t.Fatal(err)
	}
	// Each scored row's cells (predicted, class, whole-model index of the
	// coarse bucket), worked out by hand.
	type cell struct{ i, c, b int }
	cells := map[int][]cell{
		0: {{0, 0, 700}, {0, 1, 200}, {0, 2, 100}},
		1: {{1, 0, 20}, {1, 1, 980}, {1, 2, 0}},
		2: {{3, 0, 0}, {3, 1, 1000}, {3, 2, 1000}},
		4: {{2, 0, 300}, {2, 1, 300}, {2, 2, 400}},
	}
	// Rows by segment column and slot; row 3 is unscored.
	slots := [][][]int{
		{{2, 4}, {0, 1, 3}},   // seg: other (NULL, y), x
		{{1, 2}, {0, 3}, {4}}, // pred: other (b, z), a, c
	}
	for j, bySlot := range slots {
		for v, rs := range bySlot {
			want := map[cell]uint64{}
			var unscored uint64
			for _, r := range rs {
				if r == 3 {
					unscored++
				}
				for _, c := range cells[r] {
					want[c]++
				}
			}
			sw := ws.Segments[j][v]
			h := sw.ClassScores
			if h == nil {
				t.Fatalf("segment %d slot %d: no class scores", j, v)
			}
			if sw.Rows != uint64(len(rs)) || h.Unscored != unscored {
				t.Errorf("segment %d slot %d: rows %d unscored %d, want %d %d", j, v, sw.Rows, h.Unscored, len(rs), unscored)
			}
			for i := range h.Rows {
				for c := range h.Rows[i] {
					for b, n := range h.Rows[i][c] {
						if w := want[cell{i, c, b}]; n != w {
							t.Errorf("segment %d slot %d: cell (%d, %d) bucket %d has %d rows, want %d", j, v, i, c, b, n, w)
						}
					}
				}
			}
		}
		// The slots sum to the whole model's histograms, merged.
		whole := ws.ClassScores
		var unscored uint64
		for v := range ws.Segments[j] {
			unscored += ws.Segments[j][v].ClassScores.Unscored
		}
		if unscored != whole.Unscored {
			t.Errorf("segment %d: %d unscored rows over the slots, %d in the whole model", j, unscored, whole.Unscored)
		}
		for i := range whole.Rows {
			for c := range whole.Rows[i] {
				merged := make([]uint64, ScoreBuckets+1)
				for b, n := range whole.Rows[i][c] {
					merged[int(math.Floor(float64(b)/20+0.5))*20] += n
				}
				for b := range merged {
					var sum uint64
					for v := range ws.Segments[j] {
						sum += ws.Segments[j][v].ClassScores.Rows[i][c][b]
					}
					if sum != merged[b] {
						t.Errorf("segment %d cell (%d, %d) bucket %d: %d rows over the slots, %d in the whole model", j, i, c, b, sum, merged[b])
					}
				}
			}
		}
	}
}
