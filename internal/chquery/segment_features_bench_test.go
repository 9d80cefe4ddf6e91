package chquery

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkWindowSegmentFeatures measures what per-segment feature drift
// costs the window pass: BenchmarkWindowScores's window (1M rows, 20
// numeric and 5 categorical features, the score as output, with the score
// histograms) with two segment columns of 10 tracked values (c1 and c2), and
// feature drift on none, one or both of them, in ClickHouse CPU per query.
// The cases alternate, so the machine's load falls on all alike.
//
//	go test -run '^$' -bench WindowSegmentFeatures -benchtime 5x -count 1 ./internal/chquery/
//
// (-count 1: each run seeds the table again, as BenchmarkWindowScores does.)
func BenchmarkWindowSegmentFeatures(b *testing.B) {
	const rows = 1_000_000
	ctx := context.Background()
	m, w, binnings := seedScoresBench(b)
	c := testClient(b)
	values := func() []string {
		var out []string
		for v := range 10 {
			out = append(out, fmt.Sprintf("v%d", v))
		}
		return out
	}
	cases := []struct {
		name   string
		f1, f2 bool
	}{{"none", false, false}, {"c1", true, false}, {"c1+c2", true, true}}
	cpu := make([]time.Duration, len(cases))
	var runs int
	b.ResetTimer()
	for b.Loop() {
		for i, tc := range cases {
			segs := &Segments{Output: len(binnings) - 1, Columns: []Segment{
				{Column: "c1", Values: values(), Features: tc.f1}, {Column: "c2", Values: values(), Features: tc.f2}}}
			before, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			ws, err := c.Window(ctx, m, Source{Window: w, Scores: true, Segments: segs}, binnings, "drift")
			if err != nil {
				b.Fatal(err)
			}
			if ws.Rows != rows || (tc.f1 && ws.Segments[0][1].Columns[0].Bins == nil) {
				b.Fatalf("%s: rows %d, no feature bins per segment value", tc.name, ws.Rows)
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
	base := cpu[0].Seconds() / float64(runs)
	for i, tc := range cases {
		s := cpu[i].Seconds() / float64(runs)
		b.ReportMetric(s, "server-cpu-s/window:"+tc.name)
		if i > 0 {
			b.ReportMetric(100*(s-base)/base, "%more:"+tc.name)
		}
	}
}
