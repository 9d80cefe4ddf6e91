package chquery

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
)

// benchClasses are the classes of the multiclass benchmarks, scored by the
// columns p0 … p3 of class_scores_bench.
var benchClasses = map[string]string{"a": "p0", "b": "p1", "c": "p2", "d": "p3"}

// seedClassScoresBench writes class_scores_bench, scores_bench (seeded
// first by seedScoresBench) with a multiclass prediction and four score
// columns, and its labels (every row's, a minute after it), once per
// server.
func seedClassScoresBench(tb testing.TB) {
	ctx := context.Background()
	c := testClient(tb)
	var n uint64
	if err := c.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'class_scores_bench'").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	if n > 0 {
		return
	}
	if err := server.Exec(ctx,
		"CREATE TABLE class_scores_bench AS scores_bench",
		"ALTER TABLE class_scores_bench ADD COLUMN p0 Float64, ADD COLUMN p1 Float64, ADD COLUMN p2 Float64, ADD COLUMN p3 Float64",
		"CREATE TABLE class_scores_bench_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
	); err != nil {
		tb.Fatal(err)
	}
	cols := []string{"ts", "request_id", "['a', 'b', 'c', 'd'][cityHash64(request_id, 7) % 4 + 1]", "score"}
	for k := range 20 {
		cols = append(cols, fmt.Sprintf("f%d", k))
	}
	for k := range 5 {
		cols = append(cols, fmt.Sprintf("c%d", k))
	}
	for k := range 4 {
		cols = append(cols, fmt.Sprintf("(cityHash64(request_id, %d) %% 1000) / 1000", k+1))
	}
	if err := server.Exec(ctx,
		"INSERT INTO class_scores_bench SELECT "+strings.Join(cols, ", ")+" FROM scores_bench",
		"INSERT INTO class_scores_bench_labels SELECT request_id, ['a', 'b', 'c', 'd'][cityHash64(request_id, 8) % 4 + 1], ts + 60 FROM scores_bench",
	); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkWindowClassScores measures what the multiclass estimate costs
// ClickHouse: the drift pass of a 4-class model (20 numeric and 5
// categorical features, 1M rows) with and without the class score
// histograms (Source.ClassScores), and the performance window's labelled
// join without and with the class score histograms in it
// (ClassificationQuery of the model without and with scores), in server
// CPU per query.
// The variants alternate, so the machine's load falls on each alike.
func BenchmarkWindowClassScores(b *testing.B) {
	const rows = 1_000_000
	ctx := context.Background()
	_, w, binnings := seedScoresBench(b)
	seedClassScoresBench(b)
	m := &config.Model{Name: "m", Task: config.TaskMulticlass, Scores: benchClasses,
		Predictions: config.Predictions{Table: "class_scores_bench", Timestamp: "ts", ID: "request_id", Prediction: "prediction"},
		GroundTruth: &config.GroundTruth{Table: "class_scores_bench_labels", ID: "request_id", Label: "label", Timestamp: "ts"}}
	binnings = binnings[:len(binnings)-1] // no score column: the class scores stand for it
	plain := *m
	plain.Scores = nil // the same join without the class score histograms
	c := testClient(b)
	cpu := map[string]time.Duration{}
	measure := func(name string, f func() error) {
		before, err := server.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		if err := f(); err != nil {
			b.Fatal(err)
		}
		after, err := server.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		cpu[name] += after - before
	}
	var runs int
	b.ResetTimer()
	for b.Loop() {
		for _, scores := range []bool{false, true} {
			name := "window"
			if scores {
				name = "window+class_scores"
			}
			measure(name, func() error {
				ws, err := c.Window(ctx, m, Source{Window: w, ClassScores: scores}, binnings, "drift")
				if err == nil && (ws.Rows != rows || (scores && ws.ClassScores.Scored() != rows)) {
					err = fmt.Errorf("rows %d", ws.Rows)
				}
				return err
			})
		}
		for _, scores := range []bool{false, true} {
			name, mm := "classification", &plain
			if scores {
				name, mm = "classification+class_scores", m
			}
			measure(name, func() error {
				cl, err := c.Classification(ctx, mm, Source{Window: w}, "performance")
				if err == nil && (cl.Labeled != rows || (scores && (cl.ClassScores == nil || cl.ClassScores.Rows != rows))) {
					err = fmt.Errorf("labelled %d", cl.Labeled)
				}
				return err
			})
		}
		runs++
	}
	b.StopTimer()
	per := func(name string) float64 { return cpu[name].Seconds() / float64(runs) }
	b.ReportMetric(per("window"), "server-cpu-s/window")
	b.ReportMetric(per("window+class_scores"), "server-cpu-s/window+class_scores")
	b.ReportMetric(per("classification"), "server-cpu-s/classification")
	b.ReportMetric(per("classification+class_scores"), "server-cpu-s/classification+class_scores")
}
