package chquery

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// One join for several models gives each model what its own join gives: the
// same confusion matrix, score histogram, losses and regression sums, with
// and without the label side's filter. A model without rows in the window
// gets its own join's empty result, and the rows of a model outside the
// group count for none of them.
func TestSharedJoinGivesEachModelItsOwnJoin(t *testing.T) {
	ctx := context.Background()
	const base = 1_750_000_000
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS sj_preds", "DROP TABLE IF EXISTS sj_labels", "DROP TABLE IF EXISTS sj_reg_labels",
		"CREATE TABLE sj_preds (ts DateTime, id String, model String, pred String, score Nullable(Float64), y Float64) ENGINE = MergeTree ORDER BY (model, ts)",
		"CREATE TABLE sj_labels (id String, label Nullable(String), ts DateTime) ENGINE = MergeTree ORDER BY id",
		"CREATE TABLE sj_reg_labels (id String, label Float64, ts DateTime) ENGINE = MergeTree ORDER BY id",
		// Models a, b and x; each row's values from hashes of its number.
		`INSERT INTO sj_preds SELECT toDateTime(1750000000 + number % 7200), concat('p-', toString(number)),
		  ['a', 'b', 'x'][number % 3 + 1], if(cityHash64(number, 1) % 10 < 4 + number % 3, 'yes', 'no'),
		  if(cityHash64(number, 2) % 50 = 0, NULL, (cityHash64(number, 3) % 1000) / 1000),
		  (cityHash64(number, 4) % 10000) / 100 FROM numbers(9000)`,
		// Labels for four rows in five, a tenth of them corrected later, and
		// one in fifty NULL (no label).
		`INSERT INTO sj_labels SELECT concat('p-', toString(number)),
		  if(cityHash64(number, 5) % 50 = 0, NULL, if(cityHash64(number, 6) % 10 < 5 + number % 3, 'yes', 'no')),
		  toDateTime(1750000000 + number % 7200 + 60) FROM numbers(9000) WHERE number % 5 != 0`,
		`INSERT INTO sj_labels SELECT concat('p-', toString(number)), 'yes', toDateTime(1750000000 + number % 7200 + 600)
		  FROM numbers(9000) WHERE number % 10 = 1`,
		`INSERT INTO sj_reg_labels SELECT concat('p-', toString(number)), (cityHash64(number, 7) % 10000) / 100 + number % 3,
		  toDateTime(1750000000 + number % 7200 + 60) FROM numbers(9000) WHERE number % 5 != 0`,
	); err != nil {
		t.Fatal(err)
	}
	c := testClient(t)
	w := Window{From: time.Unix(base+600, 0), To: time.Unix(base+6600, 0)}
	models := []string{"a", "b", "empty"}
	binary := func(name string) *config.Model {
		return &config.Model{Name: name, Task: config.TaskBinary, PositiveClass: "yes",
			Predictions: config.Predictions{Table: "sj_preds", Timestamp: "ts", ID: "id", ModelColumn: "model", Prediction: "pred", Score: "score"},
			GroundTruth: &config.GroundTruth{Table: "sj_labels", ID: "id", Label: "label", Timestamp: "ts"}}
	}
	regression := func(name string) *config.Model {
		return &config.Model{Name: name, Task: config.TaskRegression,
			Predictions: config.Predictions{Table: "sj_preds", Timestamp: "ts", ID: "id", ModelColumn: "model", Prediction: "y"},
			GroundTruth: &config.GroundTruth{Table: "sj_reg_labels", ID: "id", Label: "label", Timestamp: "ts"}}
	}
	for _, readOnce := range []bool{true, false} {
		shared := Source{Window: w, ReadOnce: readOnce, Models: models}
		classes, err := c.ClassificationByModel(ctx, binary("a"), shared, "test")
		if err != nil {
			t.Fatal(err)
		}
		errs, err := c.RegressionByModel(ctx, regression("a"), shared, "test")
		if err != nil {
			t.Fatal(err)
		}
		if len(classes) != len(models) || len(errs) != len(models) {
			t.Fatalf("read once %v: %d and %d models, want %d", readOnce, len(classes), len(errs), len(models))
		}
		for _, name := range models {
			own := Source{Window: w, ReadOnce: readOnce}
			wantC, err := c.Classification(ctx, binary(name), own, "test")
			if err != nil {
				t.Fatal(err)
			}
			gotC := classes[name]
			for _, s := range [][]stats.ScoreBucket{wantC.Scores, gotC.Scores} {
				slices.SortFunc(s, func(x, y stats.ScoreBucket) int { return cmpFloat(x.Score, y.Score) })
			}
			// Sums over the groups add in another order.
			if math.Abs(gotC.LogLossSum-wantC.LogLossSum) > 1e-9*math.Max(1, wantC.LogLossSum) ||
				math.Abs(gotC.BrierSum-wantC.BrierSum) > 1e-9*math.Max(1, wantC.BrierSum) {
				t.Errorf("read once %v, model %s: losses %v, %v; its own join %v, %v", readOnce, name,
					gotC.LogLossSum, gotC.BrierSum, wantC.LogLossSum, wantC.BrierSum)
			}
			gotC.LogLossSum, gotC.BrierSum = wantC.LogLossSum, wantC.BrierSum
			if !reflect.DeepEqual(gotC, wantC) {
				t.Errorf("read once %v, model %s: shared join\n%+v\nits own\n%+v", readOnce, name, gotC, wantC)
			}
			if name != "empty" && (wantC.Labeled == 0 || len(wantC.Scores) == 0) {
				t.Errorf("model %s: %+v: nothing labelled proves little", name, wantC)
			}

			wantR, err := c.Regression(ctx, regression(name), own, "test")
			if err != nil {
				t.Fatal(err)
			}
			gotR := errs[name]
			if !sameRegression(gotR, wantR) {
				t.Errorf("read once %v, model %s: shared join %+v, its own %+v", readOnce, name, gotR, wantR)
			}
			if name != "empty" && wantR.Sums.N == 0 {
				t.Errorf("model %s: %+v: no labelled row proves little", name, wantR)
			}
		}
	}
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// sameRegression compares two regressions, sums up to their order and the
// label's variance NaN in both where undefined.
func sameRegression(a, b Regression) bool {
	near := func(x, y float64) bool {
		return (math.IsNaN(x) && math.IsNaN(y)) || math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y))
	}
	return a.Labels == b.Labels && a.Sums.N == b.Sums.N && a.Sums.NNonZero == b.Sums.NNonZero &&
		near(a.Sums.SumAbsError, b.Sums.SumAbsError) && near(a.Sums.SumSqError, b.Sums.SumSqError) &&
		near(a.Sums.SumAbsPctErr, b.Sums.SumAbsPctErr) && near(a.Sums.LabelVarPop, b.Sums.LabelVarPop)
}

// Where two labels share a hash, a shared join answers from the join by
// name, as a model's own join does: each model still gets its own result.
func TestSharedJoinSurvivesLabelHashCollision(t *testing.T) {
	ctx := context.Background()
	a, b := collidingLabels(t)
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS sjc_p", "DROP TABLE IF EXISTS sjc_g",
		"CREATE TABLE sjc_p (ts DateTime, id String, model String, pred String, score Float64) ENGINE = MergeTree ORDER BY ts",
		"CREATE TABLE sjc_g (id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY id",
	); err != nil {
		t.Fatal(err)
	}
	const at = 1700000000
	rows := []struct{ model, pred, label string }{
		{"m1", a, a}, {"m1", a, b}, {"m1", b, b}, {"m1", "z", "z"},
		{"m2", a, b}, {"m2", b, b}, {"m2", b, "z"},
	}
	pb, err := server.Conn().PrepareBatch(ctx, "INSERT INTO sjc_p (ts, id, model, pred, score)")
	if err != nil {
		t.Fatal(err)
	}
	gb, err := server.Conn().PrepareBatch(ctx, "INSERT INTO sjc_g (id, label, ts)")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		id := fmt.Sprintf("c%d", i)
		if err := pb.Append(time.Unix(at, 0), id, r.model, r.pred, 0.1*float64(i+1)); err != nil {
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
	model := func(name string) *config.Model {
		return &config.Model{Name: name, Task: config.TaskBinary, PositiveClass: a,
			Predictions: config.Predictions{Table: "sjc_p", Timestamp: "ts", ID: "id", ModelColumn: "model", Prediction: "pred", Score: "score"},
			GroundTruth: &config.GroundTruth{Table: "sjc_g", ID: "id", Label: "label", Timestamp: "ts"}}
	}
	c := testClient(t)
	w := Window{From: time.Unix(at, 0), To: time.Unix(at+1, 0)}
	before := c.Queries()
	got, err := c.ClassificationByModel(ctx, model("m1"), Source{Window: w, Models: []string{"m1", "m2"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Queries() - before; n != 3 {
		t.Errorf("%d queries, want 3: by hash, the label names, by name", n)
	}
	wantConfusion := map[string]stats.Confusion{
		"m1": {a: {a: 1}, b: {a: 1, b: 1}, "z": {"z": 1}},
		"m2": {b: {a: 1, b: 1}, "z": {b: 1}},
	}
	for _, name := range []string{"m1", "m2"} {
		want, err := c.Classification(ctx, model(name), Source{Window: w}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(want.Confusion) != fmt.Sprint(wantConfusion[name]) {
			t.Fatalf("model %s's own join: %v, want %v", name, want.Confusion, wantConfusion[name])
		}
		g := got[name]
		for _, s := range [][]stats.ScoreBucket{want.Scores, g.Scores} {
			slices.SortFunc(s, func(x, y stats.ScoreBucket) int { return cmpFloat(x.Score, y.Score) })
		}
		if fmt.Sprint(g.Confusion) != fmt.Sprint(want.Confusion) || fmt.Sprint(g.Scores) != fmt.Sprint(want.Scores) ||
			math.Abs(g.LogLossSum-want.LogLossSum) > 1e-9 || g.Labels != want.Labels {
			t.Errorf("model %s: shared join %+v, its own %+v", name, g, want)
		}
	}
}
