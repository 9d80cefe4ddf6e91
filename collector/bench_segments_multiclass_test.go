package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkScrapeSegmentsMulticlass measures what segments cost a whole
// scrape of BenchmarkScrapeEstimate's 4-class model with scores: and its
// estimate (1M current rows, half labelled, 25 features): without segments,
// and with two segment columns of 10 tracked values (c1 and c2, 15 and 25
// distinct values), whose values get the label-free estimate too (4 keys
// more per row and segment column in the drift pass, besides the segments'
// own keys). References cached; the variants alternate within each round.
//
//	go test -run '^$' -bench ScrapeSegmentsMulticlass -benchtime 5x ./collector/
func BenchmarkScrapeSegmentsMulticlass(b *testing.B) {
	seedMulticlassBenchTables(b)
	var f strings.Builder
	for i := range 20 {
		fmt.Fprintf(&f, "      - {name: n%d, type: numeric}\n", i)
	}
	for i := range 5 {
		fmt.Fprintf(&f, "      - {name: c%d, type: categorical}\n", i)
	}
	load := func(segments string) *Target {
		return loadTarget(b, fmt.Sprintf(`
clickhouse: {addr: [%q], query_timeout: 60s}
models:
  - name: bench
    task: multiclass_classification
    predictions: {table: bench_mc, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: bench_mc_labels, id: request_id, label: label, timestamp: ts}
    scores: {a: p0, b: p1, c: p2, d: p3}
    performance: {window: 1h, delay: 0s}
    features:
%s    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-02T00:00:00Z}
%s`, server.Addr(), f.String(), segments))
	}
	variants := []struct {
		name   string
		target *Target
		series int // per-segment estimate series the scrape must emit
	}{
		{"without", load(""), 0},
		// 2 columns × 11 values × (accuracy, macro F1).
		{"with_2x10", load("    segments: [{column: c1, max_values: 10}, {column: c2, max_values: 10}]\n"), 44},
	}
	errs := NewCounters()
	scrape := func(name string, target *Target, series int) {
		got := gather(b, target, errs, 2*time.Minute)
		if got[`mlmon_scrape_success{model="bench"}`] != 1 {
			b.Fatalf("%s: scrape failed: %v", name, got)
		}
		n := 0
		for k := range got {
			if strings.HasPrefix(k, "mlmon_segment_estimated_") {
				n++
			}
		}
		if n != series {
			b.Fatalf("%s: %d per-segment estimate series, want %d", name, n, series)
		}
	}
	for _, v := range variants { // computes and caches the references and their joins
		gatherSettled(b, v.target, `mlmon_accuracy_ratio{model="bench",window="reference"}`)
		scrape(v.name, v.target, v.series)
	}
	cpu := map[string][]float64{}
	b.ResetTimer()
	for b.Loop() {
		for _, v := range variants {
			before, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			scrape(v.name, v.target, v.series)
			after, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			cpu[v.name] = append(cpu[v.name], (after - before).Seconds())
		}
	}
	b.StopTimer()
	for _, v := range variants {
		b.ReportMetric(median(cpu[v.name]), "server-cpu-s/"+v.name)
	}
	b.Logf("server CPU per scrape, each round: %v", cpu)
}
