package chquery

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// collidingLabels finds two strings whose labels travel under one hash: the
// low 32 bits of their cityHash64 agree (a birthday search, some 10⁵ tries).
func collidingLabels(t *testing.T) (string, string) {
	t.Helper()
	seen := map[uint64]string{}
	for i := range 10_000_000 {
		s := "class-" + strconv.Itoa(i)
		h := LabelHash(s)
		if prev, ok := seen[h]; ok {
			return prev, s
		}
		seen[h] = s
	}
	t.Fatal("no two labels collide")
	return "", ""
}

type labelledRow struct {
	pred, label string
	score       float64
}

// seedLabelled writes rows as predictions of one second, each with its
// label a second later, into fresh tables named after prefix.
func seedLabelled(t *testing.T, prefix string, rows []labelledRow) (*config.Model, Window) {
	t.Helper()
	ctx := context.Background()
	p, g := prefix+"_p", prefix+"_g"
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS "+p, "DROP TABLE IF EXISTS "+g,
		"CREATE TABLE "+p+" (ts DateTime, id String, pred String, score Float64) ENGINE = MergeTree ORDER BY ts",
		"CREATE TABLE "+g+" (id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY id",
	); err != nil {
		t.Fatal(err)
	}
	const at = 1700000000
	pb, err := server.Conn().PrepareBatch(ctx, "INSERT INTO "+p+" (ts, id, pred, score)")
	if err != nil {
		t.Fatal(err)
	}
	gb, err := server.Conn().PrepareBatch(ctx, "INSERT INTO "+g+" (id, label, ts)")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		id := fmt.Sprintf("r%d", i)
		if err := pb.Append(time.Unix(at, 0), id, r.pred, r.score); err != nil {
			t.Fatal(err)
		}
		if err := gb.Append(id, r.label, time.Unix(at+1, 0)); err != nil {
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
		Predictions: config.Predictions{Table: p, Timestamp: "ts", ID: "id", Prediction: "pred"},
		GroundTruth: &config.GroundTruth{Table: g, ID: "id", Label: "label", Timestamp: "ts"}}
	return m, Window{From: time.Unix(at, 0), To: time.Unix(at+1, 0)}
}

// Two actual classes whose hashes agree stay two classes: the exporter sees
// the collision in the label names and answers from the join by name, one
// query more than usual.
func TestClassificationSurvivesLabelHashCollision(t *testing.T) {
	a, b := collidingLabels(t)
	rows := []labelledRow{{a, a, 0}, {a, a, 0}, {a, b, 0}, {b, b, 0}, {b, "z", 0}, {"z", "z", 0}}
	m, w := seedLabelled(t, "collide", rows)
	c := testClient(t)
	before := c.Queries()
	got, err := c.Classification(context.Background(), m, Source{Window: w}, "performance")
	if err != nil {
		t.Fatal(err)
	}
	want := stats.Confusion{a: {a: 2}, b: {a: 1, b: 1}, "z": {b: 1, "z": 1}}
	if fmt.Sprint(got.Confusion) != fmt.Sprint(want) || got.Labeled != 6 || got.Predictions != 6 {
		t.Errorf("confusion %v (%d of %d labelled), want %v (6 of 6)", got.Confusion, got.Labeled, got.Predictions, want)
	}
	if n := c.Queries() - before; n != 3 {
		t.Errorf("%d queries, want 3: by hash, the label names, by name", n)
	}

	// Without a collision, two queries: by hash, and the names.
	m, w = seedLabelled(t, "nocollide", []labelledRow{{a, a, 0}, {"z", a, 0}, {"z", "z", 0}})
	before = c.Queries()
	got, err = c.Classification(context.Background(), m, Source{Window: w}, "performance")
	if err != nil {
		t.Fatal(err)
	}
	want = stats.Confusion{a: {a: 1, "z": 1}, "z": {"z": 1}}
	if fmt.Sprint(got.Confusion) != fmt.Sprint(want) {
		t.Errorf("confusion %v, want %v", got.Confusion, want)
	}
	if n := c.Queries() - before; n != 2 {
		t.Errorf("%d queries, want 2: by hash and the label names", n)
	}
}

// A label that shares the positive class's hash is not positive: the
// losses treat it as the negative it is, though the positive class itself
// never occurs among the labels.
func TestLossesSurviveAPositiveClassCollision(t *testing.T) {
	a, b := collidingLabels(t)
	rows := []labelledRow{{a, b, 0.9}, {a, b, 0.6}, {"z", "z", 0.2}, {"z", b, 0.1}}
	m, w := seedLabelled(t, "poscollide", rows)
	m.Task, m.PositiveClass, m.Predictions.Score = config.TaskBinary, a, "score"
	got, err := testClient(t).Classification(context.Background(), m, Source{Window: w}, "performance")
	if err != nil {
		t.Fatal(err)
	}
	// No row is positive: log loss −ln(1 − p), Brier p², summed.
	var ll, brier float64
	for _, r := range rows {
		ll -= math.Log(1 - r.score)
		brier += r.score * r.score
	}
	if math.Abs(got.LogLossSum-ll) > 1e-9 || math.Abs(got.BrierSum-brier) > 1e-9 || got.ScoreRows != 4 {
		t.Errorf("log loss sum %g, Brier sum %g over %g rows; want %g, %g over 4", got.LogLossSum, got.BrierSum, got.ScoreRows, ll, brier)
	}
	for _, sb := range got.Scores {
		if sb.Positives != 0 {
			t.Errorf("score %g has %g positives, want none", sb.Score, sb.Positives)
		}
	}
}
