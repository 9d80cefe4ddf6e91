package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkScrapeSegments scrapes BenchmarkScrapeBinary's model without
// segments and with two segment columns of 10 tracked values each (c1 and
// c2, 15 and 25 distinct values), and reports the server CPU of each: what
// segments cost ClickHouse. The segments ride in the window pass and the
// label join (one more grouping key per segment column), not in queries of
// their own. The third and fourth cases add per-segment feature drift to
// c1, then to c2 too: 11 values × 25 features more series per column, and
// one more key per feature and row in the window passes.
//
//	go test -run '^$' -bench ScrapeSegments -benchtime 4x -count 3 ./collector/
func BenchmarkScrapeSegments(b *testing.B) {
	seedBinaryBenchTables(b)
	var f strings.Builder
	for i := range 20 {
		fmt.Fprintf(&f, "      - {name: n%d, type: numeric}\n", i)
	}
	for i := range 5 {
		fmt.Fprintf(&f, "      - {name: c%d, type: categorical}\n", i)
	}
	for _, bc := range []struct{ name, segments string }{
		{"without", ""},
		{"with_2x10", "    segments: [{column: c1, max_values: 10}, {column: c2, max_values: 10}]\n"},
		// Per-segment feature drift on one of the two columns: 25 more
		// keys per row in the window passes (one per feature).
		{"with_2x10_feature_drift_1", "    segments: [{column: c1, max_values: 10, feature_drift: true}, {column: c2, max_values: 10}]\n"},
		{"with_2x10_feature_drift_2", "    segments: [{column: c1, max_values: 10, feature_drift: true}, {column: c2, max_values: 10, feature_drift: true}]\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			target := loadTarget(b, fmt.Sprintf(`
clickhouse: {addr: [%q], query_timeout: 60s}
models:
  - name: bench
    task: binary_classification
    positive_class: "1"
    predictions: {table: bench_bin, timestamp: ts, id: request_id, prediction: prediction, score: score}
    ground_truth: {table: bench_bin_labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 1h, delay: 0s}
    features:
%s    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-02T00:00:00Z}
%s`, server.Addr(), f.String(), bc.segments))
			errs := NewCounters()
			// Scrape until the reference and its join (with the segment
			// values) are cached: the timed scrapes are warm ones.
			if got := gatherSettled(b, target, `mlmon_accuracy_ratio{model="bench",window="reference"}`); got[`mlmon_scrape_success{model="bench"}`] != 1 {
				b.Fatalf("bench scrape failed: %v", got)
			}
			before := target.Client.Queries()
			cpuBefore, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			var got map[string]float64
			b.ResetTimer()
			for b.Loop() {
				got = gather(b, target, errs, 2*time.Minute)
			}
			b.StopTimer()
			cpuAfter, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			series := 0
			for k := range got {
				if strings.HasPrefix(k, "mlmon_segment_") {
					series++
				}
			}
			if bc.segments != "" && series == 0 {
				b.Fatal("no segment series")
			}
			b.ReportMetric(float64(series), "segment-series")
			b.ReportMetric(float64(target.Client.Queries()-before)/float64(b.N), "queries/scrape")
			b.ReportMetric((cpuAfter-cpuBefore).Seconds()/float64(b.N), "server-cpu-s/scrape")
		})
	}
}
