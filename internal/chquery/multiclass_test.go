package chquery

import (
	"context"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// A multiclass model's score histograms, labelled (ClassificationQuery) and in
// the drift pass (Source.ClassScores), bucket each class's score under the
// row's predicted class; a prediction that is no class is predicted index
// K, a row with any score not finite counts apart, and the columns' bins
// are what they are without the histograms.
func TestClassScoreHistograms(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS mc_p", "DROP TABLE IF EXISTS mc_g",
		"CREATE TABLE mc_p (ts DateTime, id String, pred Nullable(String), pa Nullable(Float64), pb Float64, pc Float32, x Float64) ENGINE = MergeTree ORDER BY ts",
		"CREATE TABLE mc_g (id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY id",
	); err != nil {
		t.Fatal(err)
	}
	s := func(v string) *string { return &v }
	f := func(v float64) *float64 { return &v }
	rows := []struct {
		pred   *string
		pa     *float64
		pb, pc float64
		label  string // "" for none
	}{
		{s("a"), f(0.7), 0.2, 0.1, "a"},       // predicted 0
		{s("b"), f(0.3), 0.6, 0.1004, "c"},    // predicted 1, pc bucket 100
		{s("z"), f(0.2), 0.3, 0.5, "a"},       // any other prediction: 3
		{nil, f(0.4), 0.4, 0.2, ""},           // NULL prediction: 3; unlabelled
		{s("a"), nil, 0.5, 0.5, "a"},          // unscored
		{s("c"), f(0.0004), 0.1, 1.7, "c"},    // buckets 0, 100, 1000 (clamped)
		{s("a"), f(0.7), 0.2, 0.1, "b"},       // predicted 0, labelled b
		{s("b"), f(math.NaN()), 0.9, 0.1, ""}, // unscored, unlabelled
	}
	const at = 1700000000
	pb, err := server.Conn().PrepareBatch(ctx, "INSERT INTO mc_p (ts, id, pred, pa, pb, pc, x)")
	if err != nil {
		t.Fatal(err)
	}
	gb, err := server.Conn().PrepareBatch(ctx, "INSERT INTO mc_g (id, label, ts)")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		id := "r" + strconv.Itoa(i)
		if err := pb.Append(time.Unix(at, 0), id, r.pred, r.pa, r.pb, float32(r.pc), float64(i)); err != nil {
			t.Fatal(err)
		}
		if r.label != "" {
			if err := gb.Append(id, r.label, time.Unix(at+1, 0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := pb.Send(); err != nil {
		t.Fatal(err)
	}
	if err := gb.Send(); err != nil {
		t.Fatal(err)
	}
	m := &config.Model{Name: "m", Task: config.TaskMulticlass,
		Predictions: config.Predictions{Table: "mc_p", Timestamp: "ts", ID: "id", Prediction: "pred"},
		GroundTruth: &config.GroundTruth{Table: "mc_g", ID: "id", Label: "label", Timestamp: "ts"},
		Scores:      map[string]string{"c": "pc", "a": "pa", "b": "pb"}}
	w := Window{From: time.Unix(at, 0), To: time.Unix(at+1, 0)}
	c := testClient(t)

	// The drift pass: cell (predicted, class) -> bucket -> rows.
	type cell struct{ i, j, b int }
	wantCur := map[cell]uint64{
		{0, 0, 700}: 2, {0, 1, 200}: 2, {0, 2, 100}: 2,
		{1, 0, 300}: 1, {1, 1, 600}: 1, {1, 2, 100}: 1,
		{3, 0, 200}: 1, {3, 1, 300}: 1, {3, 2, 500}: 1,
		{3, 0, 400}: 1, {3, 1, 400}: 1, {3, 2, 200}: 1,
		{2, 0, 0}: 1, {2, 1, 100}: 1, {2, 2, 1000}: 1,
	}
	cols := []Binning{{Column: Column{Name: "x", Numeric: true}, Edges: []float64{4}, Min: 0, Max: 7}}
	ws, err := c.Window(ctx, m, Source{Window: w, ClassScores: true}, cols, "drift")
	if err != nil {
		t.Fatal(err)
	}
	if ws.Rows != 8 || !slices.Equal(ws.Columns[0].Bins, []uint64{4, 4}) || ws.Scores != nil {
		t.Errorf("rows %d, bins %v, binary scores %v; want 8, [4 4], none", ws.Rows, ws.Columns[0].Bins, ws.Scores)
	}
	h := ws.ClassScores
	if h == nil {
		t.Fatal("no class score histograms")
	}
	for i := range 4 {
		for j := range 3 {
			for b := 0; b <= ScoreBuckets; b++ {
				if got, want := h.Rows[i][j][b], wantCur[cell{i, j, b}]; got != want {
					t.Errorf("predicted %d, class %d, bucket %d: %d rows, want %d", i, j, b, got, want)
				}
			}
		}
	}
	if h.Unscored != 2 || h.Scored() != 6 {
		t.Errorf("unscored %d, scored %d; want 2, 6", h.Unscored, h.Scored())
	}

	// The labelled join: the rows with a label and every score finite.
	type lcell struct {
		i, j, b int
		pos     bool
	}
	wantRef := map[lcell]float64{
		{0, 0, 700, true}: 1, {0, 1, 200, false}: 1, {0, 2, 100, false}: 1, // a, labelled a
		{0, 0, 700, false}: 1, {0, 1, 200, true}: 1, {0, 2, 100, false}: 2, // a, labelled b
		{1, 0, 300, false}: 1, {1, 1, 600, false}: 1, {1, 2, 100, true}: 1,
		{3, 0, 200, true}: 1, {3, 1, 300, false}: 1, {3, 2, 500, false}: 1,
		{2, 0, 0, false}: 1, {2, 1, 100, false}: 1, {2, 2, 1000, true}: 1,
	}
	// With segments, each row counts in its segment value's confusion
	// matrix too, and once only in the histograms.
	segs := &Segments{Columns: []Segment{{Column: "pred", Values: []string{"a"}}}, Output: -1}
	for _, form := range []struct {
		join     JoinStrategy
		readOnce bool
		byName   bool
		segments bool
	}{{JoinSingle, false, false, false}, {JoinLocal, false, false, false}, {JoinGlobal, false, false, false},
		{JoinInitiator, false, false, false}, {JoinSingle, true, false, false}, {JoinLocal, true, false, false},
		{JoinSingle, false, true, false}, {JoinLocal, false, true, false}, {JoinSingle, false, false, true}, {JoinLocal, false, true, true}} {
		src := Source{Window: w, Join: form.join, ReadOnce: form.readOnce}
		if form.segments {
			src.Segments = segs
		}
		var cl Classification
		if form.byName {
			q, err := ClassificationByNameQuery(m, src)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := c.classificationRows(ctx, m, q, true, form.segments, false)
			if err != nil {
				t.Fatal(err)
			}
			fold := func() (Classification, error) { return foldClassification(m, rows) }
			if form.segments {
				fold = func() (Classification, error) { return foldSegmentedClassification(m, segs.Columns, rows) }
			}
			if cl, err = fold(); err != nil {
				t.Fatal(err)
			}
		} else if cl, err = c.Classification(ctx, m, src, "performance"); err != nil {
			t.Fatal(err)
		}
		if cl.Labeled != 6 || cl.Confusion["a"]["a"] != 2 || cl.Confusion["b"]["a"] != 1 || cl.Confusion["c"]["b"] != 1 {
			t.Errorf("%+v: labelled %d, confusion %v", form, cl.Labeled, cl.Confusion)
		}
		if form.segments && (len(cl.Segments) != 1 || cl.Segments[0][1].Labeled != 3) {
			t.Errorf("%+v: segments %+v, want 3 labelled rows predicted a", form, cl.Segments)
		}
		ref := cl.ClassScores
		if ref == nil {
			t.Fatalf("%+v: no class score histograms", form)
		}
		if ref.Rows != 5 {
			t.Errorf("%+v: %d labelled scored rows, want 5", form, ref.Rows)
		}
		got := map[lcell]float64{}
		for i := range ref.Hist {
			for j := range ref.Hist[i] {
				for _, sb := range ref.Hist[i][j] {
					b := int(math.Round(sb.Score * ScoreBuckets))
					if sb.Positives > 0 {
						got[lcell{i, j, b, true}] = sb.Positives
					}
					if sb.Negatives > 0 {
						got[lcell{i, j, b, false}] = sb.Negatives
					}
				}
			}
		}
		for k, v := range wantRef {
			if got[k] != v {
				t.Errorf("%+v: %+v has %v rows, want %v", form, k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := wantRef[k]; !ok {
				t.Errorf("%+v: unexpected %+v with %v rows", form, k, v)
			}
		}
	}
	// Hand-computed one-vs-rest AUC of the labelled rows: class a's score
	// ranks its positives (0.7, 0.2) against negatives (0.7, 0.3, 0.0004):
	// (0.5 + 1 + 1 + 0 + 0 + 1) / 6; class b: positive 0.2 against 0.2,
	// 0.6, 0.3, 0.1: (0.5 + 0 + 0 + 1) / 4; class c: positives 0.1004→0.1,
	// 1 against 0.1, 0.1, 0.5: (0.5 + 0.5 + 0 + 1 + 1 + 1) / 6.
	cl, err := c.Classification(ctx, m, Source{Window: w}, "performance")
	if err != nil {
		t.Fatal(err)
	}
	ref := cl.ClassScores
	want := (3.5/6 + 1.5/4 + 4.0/6) / 3
	if got := stats.MulticlassROCAUC(ref.Hist, 3); math.Abs(got-want) > 1e-12 {
		t.Errorf("multiclass AUC %v, want %v", got, want)
	}
	if _, err := WindowQuery(m, Source{Table: "mc_p", ClassScores: true}, cols); err == nil {
		t.Error("class score histograms of a reference table were accepted")
	}
}

// Every key classScoreKey gives decodes to the state it encodes, after the
// columns' keys, and a key past the histograms is an error.
func TestClassScoreKeysRoundTrip(t *testing.T) {
	cols := []Binning{{Column: Column{Name: "x", Numeric: true}, Edges: []float64{1, 2}}, {Column: Column{Name: "c"}, Categories: []string{"u"}}}
	k := newStateKeys(cols, false)
	k.classes = 3
	if got := k.decodeClassScoreKey(t, k.classScoreKey(0, 0, 0.5, false)); !got.unscored {
		t.Errorf("unscored row decodes to %+v", got)
	}
	for i := range 4 {
		for j := range 3 {
			for _, s := range []float64{-1, 0, 0.0004, 0.0005, 0.5, 0.9995, 2} {
				key := k.classScoreKey(i, j, s, true)
				if key < k.scoreBase() || key >= k.end() {
					t.Fatalf("key %d outside [%d, %d)", key, k.scoreBase(), k.end())
				}
				got := k.decodeClassScoreKey(t, key)
				wantB := int(math.Floor(math.Max(math.Min(s, 1), 0)*1000 + 0.5))
				if got.predicted != i || got.class != j || got.bucket != wantB || got.unscored {
					t.Errorf("(%d, %d, %v) decodes to %+v, want bucket %d", i, j, s, got, wantB)
				}
			}
		}
	}
	if _, err := k.decode(k.end()); err == nil {
		t.Error("a key past the histograms decoded")
	}
}

func (k stateKeys) decodeClassScoreKey(t *testing.T, key uint64) windowState {
	t.Helper()
	st, err := k.decode(key)
	if err != nil {
		t.Fatal(err)
	}
	if !st.classScore {
		t.Fatalf("key %d decodes to %+v", key, st)
	}
	return st
}

// A window holding a label that shares a class's hash: the client's
// classification join finds the collision when it names the hashes, reads
// by name, and the class score histograms count the label right.
func TestClassScoresCollidingLabel(t *testing.T) {
	ctx := context.Background()
	x, y := collidingLabels(t)
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS mcc_p", "DROP TABLE IF EXISTS mcc_g",
		"CREATE TABLE mcc_p (ts DateTime, id String, pred String, px Float64, pz Float64) ENGINE = MergeTree ORDER BY ts",
		"CREATE TABLE mcc_g (id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY id",
	); err != nil {
		t.Fatal(err)
	}
	const at = 1700000000
	pb, err := server.Conn().PrepareBatch(ctx, "INSERT INTO mcc_p (ts, id, pred, px, pz)")
	if err != nil {
		t.Fatal(err)
	}
	gb, err := server.Conn().PrepareBatch(ctx, "INSERT INTO mcc_g (id, label, ts)")
	if err != nil {
		t.Fatal(err)
	}
	// Row 0 is labelled x, row 1 y (not a class, x's hash), row 2 z.
	for i, label := range []string{x, y, "z"} {
		id := "r" + strconv.Itoa(i)
		if err := pb.Append(time.Unix(at, 0), id, x, 0.7, 0.3); err != nil {
			t.Fatal(err)
		}
		if err := gb.Append(id, label, time.Unix(at+1, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pb.Send(); err != nil {
		t.Fatal(err)
	}
	if err := gb.Send(); err != nil {
		t.Fatal(err)
	}
	m := &config.Model{Name: "m", Task: config.TaskMulticlass,
		Predictions: config.Predictions{Table: "mcc_p", Timestamp: "ts", ID: "id", Prediction: "pred"},
		GroundTruth: &config.GroundTruth{Table: "mcc_g", ID: "id", Label: "label", Timestamp: "ts"},
		Scores:      map[string]string{x: "px", "z": "pz"}}
	src := Source{Window: Window{From: time.Unix(at, 0), To: time.Unix(at+1, 0)}}
	classX := slices.Index(m.ScoreClasses(), x)
	positives := func(cs ClassScores) float64 {
		var n float64
		for _, b := range cs.Hist[classX][classX] { // predicted x, x's score
			n += b.Positives
		}
		return n
	}
	c := testClient(t)
	cl, err := c.Classification(ctx, m, src, "performance")
	if err != nil {
		t.Fatal(err)
	}
	if cl.ClassScores == nil {
		t.Fatal("no class score histograms")
	}
	if got := positives(*cl.ClassScores); got != 1 {
		t.Errorf("%v rows labelled %q, want 1 (%q is not %q)", got, x, y, x)
	}
	if got := cl.Confusion[y][x]; got != 1 {
		t.Errorf("%v rows labelled %q predicted %q, want 1", got, y, x)
	}
}
