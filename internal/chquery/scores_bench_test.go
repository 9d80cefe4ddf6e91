package chquery

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
)

// seedScoresBench writes the benchmark's table, once per server, and
// returns its model, window and binnings.
func seedScoresBench(tb testing.TB) (*config.Model, Window, []Binning) {
	const rows = 1_000_000
	start := time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC)
	ctx := context.Background()
	var cols, gen []string
	var binnings []Binning
	for k := range 20 {
		n := fmt.Sprintf("f%d", k)
		cols = append(cols, n+" Float64")
		gen = append(gen, fmt.Sprintf("(cityHash64(number, %d) %% 10000) / 100.0", k))
		binnings = append(binnings, Binning{Column: Column{Name: n, Numeric: true},
			Edges: []float64{10, 20, 30, 40, 50, 60, 70, 80, 90}, Min: 0, Max: 99.99})
	}
	for k := range 5 {
		n := fmt.Sprintf("c%d", k)
		cols = append(cols, n+" String")
		gen = append(gen, fmt.Sprintf("concat('v', toString(cityHash64(number, %d) %% %d))", 100+k, 5+10*k))
		var cats []string
		for v := range 5 + 10*k {
			cats = append(cats, fmt.Sprintf("v%d", v))
		}
		binnings = append(binnings, Binning{Column: Column{Name: n}, Categories: cats[:min(len(cats), 20)], Seen: cats})
	}
	binnings = append(binnings, Binning{Column: Column{Name: "score", Numeric: true},
		Edges: []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}, Min: 0, Max: 1})
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS scores_bench (ts DateTime, request_id String, prediction String, score Float64, "+strings.Join(cols, ", ")+
			") ENGINE = MergeTree ORDER BY ts",
		fmt.Sprintf("INSERT INTO scores_bench SELECT toDateTime(%d + intDiv(number * 3600, %d)), toString(number), "+
			"if(cityHash64(number) %% 1000 >= 500, '1', '0'), (cityHash64(number) %% 1000) / 1000, %s FROM numbers(%d)",
			start.Unix(), rows, strings.Join(gen, ", "), rows),
	); err != nil {
		tb.Fatal(err)
	}
	m := &config.Model{Name: "m", Task: config.TaskBinary, PositiveClass: "1",
		Predictions: config.Predictions{Table: "scores_bench", Timestamp: "ts", ID: "request_id", Prediction: "prediction", Score: "score"}}
	w := Window{From: start, To: start.Add(time.Hour)}
	return m, w, binnings
}

// BenchmarkWindowScores measures what the label-free estimate costs the
// drift pass: the current window of a binary model (20 numeric and 5
// categorical features and its score, 1M rows) with and without the score
// histogram by predicted class (Source.Scores), in ClickHouse CPU per
// query. The two alternate, so the machine's load falls on both alike.
func BenchmarkWindowScores(b *testing.B) {
	const rows = 1_000_000
	ctx := context.Background()
	m, w, binnings := seedScoresBench(b)
	c := testClient(b)
	var cpu [2]time.Duration
	var runs int
	b.ResetTimer()
	for b.Loop() {
		for i, scores := range []bool{false, true} {
			before, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			ws, err := c.Window(ctx, m, Source{Window: w, Scores: scores}, binnings, "drift")
			if err != nil {
				b.Fatal(err)
			}
			if ws.Rows != rows || (scores && ws.Scores.Scored() != rows) {
				b.Fatalf("rows %d, scores %+v", ws.Rows, ws.Scores != nil)
			}
			after, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			cpu[i] += after - before
		}
		runs++
	}
	b.StopTimer()
	without, with := cpu[0].Seconds()/float64(runs), cpu[1].Seconds()/float64(runs)
	b.ReportMetric(without, "server-cpu-s/window")
	b.ReportMetric(with, "server-cpu-s/window+scores")
	b.ReportMetric(100*(with-without)/without, "%more")
}
