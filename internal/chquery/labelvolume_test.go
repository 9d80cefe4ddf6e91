package chquery

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
)

func TestFilterPays(t *testing.T) {
	for _, c := range []struct {
		labels, predictions uint64
		want                bool
	}{
		{0, 0, false},
		{1_500_000, 3_000_000, false}, // one model's own labels table
		{3_000_000, 3_000_000, false}, // the break-even measured
		{3_000_001, 3_000_000, true},
		{6_000_000, 3_000_000, true}, // a table shared by other models
		{10, 0, true},                // an empty window: nothing to join
	} {
		if got := (LabelVolume{Labels: c.labels, Predictions: c.predictions}).FilterPays(); got != c.want {
			t.Errorf("%d labels, %d predictions: FilterPays() = %v, want %v", c.labels, c.predictions, got, c.want)
		}
	}
}

// The counts are those of the rows the join would read, checked against
// rows seeded by hand; FilterLabels drops the filter while the labels are
// few, and keeps it once another model's labels share the table.
func TestLabelVolumeOnTheServer(t *testing.T) {
	ctx := context.Background()
	const p, g = "lv_predictions", "lv_labels"
	from := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	w := Window{From: from, To: from.Add(time.Hour)}
	f := from.Unix()
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS "+p, "DROP TABLE IF EXISTS "+g,
		"CREATE TABLE "+p+" (ts DateTime, id String, model String, pred String) ENGINE = MergeTree ORDER BY (model, ts)",
		"CREATE TABLE "+g+" (id String, label Nullable(String), ts DateTime) ENGINE = MergeTree ORDER BY id",
		// 300 predictions of m in the window, 50 just before it, 50 at its end
		// (excluded), and 200 of another model in it.
		insertAt(p+" (ts, id, model, pred)", f, "toString(number), 'm', '1'", 300, 12),
		insertAt(p+" (ts, id, model, pred)", f-3600, "toString(number), 'm', '1'", 50, 60),
		insertAt(p+" (ts, id, model, pred)", f+3600, "toString(number), 'm', '1'", 50, 1),
		insertAt(p+" (ts, id, model, pred)", f, "concat('o', toString(number)), 'other', '1'", 200, 10),
		// 120 labels since the window's start, 30 of them NULL (no label), 40
		// that arrived before it.
		insertAt(g+" (ts, id, label)", f+10, "toString(number), '1'", 90, 30),
		insertAt(g+" (ts, id, label)", f+20, "toString(number + 90), NULL", 30, 30),
		insertAt(g+" (ts, id, label)", f-400, "toString(number + 200), '0'", 40, 1),
	); err != nil {
		t.Fatal(err)
	}
	m := &config.Model{Name: "m", Task: config.TaskBinary, PositiveClass: "1",
		Predictions: config.Predictions{Table: p, Timestamp: "ts", ID: "id", ModelColumn: "model", Prediction: "pred"},
		GroundTruth: &config.GroundTruth{Table: g, ID: "id", Label: "label", Timestamp: "ts"}}
	c := testClient(t)
	v, err := c.LabelVolume(ctx, m, Source{Window: w}, "performance")
	if err != nil {
		t.Fatal(err)
	}
	if want := (LabelVolume{Labels: 90, Predictions: 300}); v != want {
		t.Fatalf("LabelVolume = %+v, want %+v", v, want)
	}
	src, err := c.FilterLabels(ctx, m, Source{Window: w}, "performance")
	if err != nil || !src.ReadOnce {
		t.Errorf("90 labels for 300 predictions: ReadOnce = %v (%v), want the label side unfiltered", src.ReadOnce, err)
	}
	// Another model's 400 labels in the same table.
	if err := server.Exec(ctx, insertAt(g+" (ts, id, label)", f+30, "concat('o', toString(number)), '1'", 400, 5)); err != nil {
		t.Fatal(err)
	}
	src, err = c.FilterLabels(ctx, m, Source{Window: w}, "performance")
	if err != nil || src.ReadOnce {
		t.Errorf("490 labels for 300 predictions: ReadOnce = %v (%v), want the label side filtered", src.ReadOnce, err)
	}
	// Where the labels are shipped between shards, or sampled through the
	// filter, it stays whatever the counts; the server is not asked.
	for _, keep := range []Source{{Window: w, Join: JoinGlobal}, {Window: w, Join: JoinInitiator}, {Window: w, Sampling: Sampling{Ratio: 0.5}}} {
		if err := server.Exec(ctx, "TRUNCATE TABLE "+g); err != nil {
			t.Fatal(err)
		}
		before := c.Queries()
		src, err := c.FilterLabels(ctx, m, keep, "performance")
		if err != nil || src.ReadOnce || c.Queries() != before {
			t.Errorf("%+v: ReadOnce = %v after %d queries (%v), want the filter kept without a query", keep, src.ReadOnce, c.Queries()-before, err)
		}
	}
}

// insertAt is an INSERT … SELECT of n rows into into (a table and its
// column list, a time first): the times start at unix and step by step
// seconds, the other columns are values, expressions of number.
func insertAt(into string, unix int64, values string, n, step int) string {
	return fmt.Sprintf("INSERT INTO %s SELECT toDateTime(%d) + number * %d, %s FROM numbers(%d)", into, unix, step, values, n)
}
