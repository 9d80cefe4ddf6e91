package chquery

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
)

// BenchmarkWindowSegmentClassScores measures what the per-segment
// multiclass estimate costs the window pass: BenchmarkWindowClassScores's
// drift pass (a 4-class model with scores, 20 numeric and 5 categorical
// features, its prediction as output, 1M rows, with the whole model's
// class score histograms) without segments, with two segment columns of
// 10 tracked values (c1 and c2) without their values' class score
// histograms, and with them (Segments.ClassScores: 4 keys more per row and
// segment column), in ClickHouse CPU per query. The cases alternate, so the
// machine's load falls on all alike.
//
//	go test -run '^$' -bench WindowSegmentClassScores -benchtime 5x -count 1 ./internal/chquery/
func BenchmarkWindowSegmentClassScores(b *testing.B) {
	const rows = 1_000_000
	ctx := context.Background()
	_, w, binnings := seedScoresBench(b)
	seedClassScoresBench(b)
	m := &config.Model{Name: "m", Task: config.TaskMulticlass, Scores: benchClasses,
		Predictions: config.Predictions{Table: "class_scores_bench", Timestamp: "ts", ID: "request_id", Prediction: "prediction"}}
	// The score column gives way to the prediction, the model's output.
	binnings = append(binnings[:len(binnings)-1], Binning{Column: Column{Name: "prediction"}, Categories: []string{"a", "b", "c", "d"}})
	var values []string
	for v := range 10 {
		values = append(values, fmt.Sprintf("v%d", v))
	}
	cases := []struct {
		name     string
		segments bool
		classes  bool
	}{{"no_segments", false, false}, {"2x10", true, false}, {"2x10+class_scores", true, true}}
	c := testClient(b)
	cpu := make([]time.Duration, len(cases))
	var keyType string
	var runs int
	b.ResetTimer()
	for b.Loop() {
		for i, tc := range cases {
			src := Source{Window: w, ClassScores: true}
			if tc.segments {
				src.Segments = &Segments{Output: len(binnings) - 1, ClassScores: tc.classes,
					Columns: []Segment{{Column: "c1", Values: values}, {Column: "c2", Values: values}}}
			}
			before, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			ws, err := c.Window(ctx, m, src, binnings, "drift")
			if err != nil {
				b.Fatal(err)
			}
			after, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			if ws.Rows != rows || ws.ClassScores.Scored() != rows {
				b.Fatalf("%s: rows %d", tc.name, ws.Rows)
			}
			if tc.classes {
				var scored uint64
				for _, sw := range ws.Segments[1] {
					scored += sw.ClassScores.Scored()
				}
				if scored != rows {
					b.Fatalf("%s: %d scored rows over c2's values, want %d", tc.name, scored, rows)
				}
				layout := newStateKeys(binnings, false)
				layout.classes = len(benchClasses)
				keyType = windowSegmentKeys{layout, src.Segments}.keyType()
			}
			cpu[i] += after - before
		}
		runs++
	}
	b.StopTimer()
	if keyType != "toUInt16" {
		b.Errorf("the keys with the segment values' class scores are %s, want toUInt16", keyType)
	}
	for i, tc := range cases {
		s := cpu[i].Seconds() / float64(runs)
		b.ReportMetric(s, "server-cpu-s/window:"+tc.name)
		if i > 0 {
			prev := cpu[i-1].Seconds() / float64(runs)
			b.ReportMetric(100*(s-prev)/prev, "%more-than-previous:"+tc.name)
		}
	}
}
