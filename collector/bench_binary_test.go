package collector

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var seedBinaryBench sync.Once

// seedBinaryBenchTables writes BenchmarkScrapeBinary's rows: 1M current and
// 200k reference predictions of a binary model with a score, 20 numeric and
// 5 categorical features, and a label for every reference prediction and
// for half of the current ones.
func seedBinaryBenchTables(b *testing.B) {
	seedBinaryBench.Do(func() {
		var cols, exprs []string
		for i := range 20 {
			cols = append(cols, fmt.Sprintf("n%d Float64", i))
			exprs = append(exprs, fmt.Sprintf("(cityHash64(number, %d) %% 10000) / 100.0", i))
		}
		for i := range 5 {
			cols = append(cols, fmt.Sprintf("c%d String", i))
			exprs = append(exprs, fmt.Sprintf("concat('v', toString(cityHash64(number, %d) %% %d))", 100+i, 5+10*i))
		}
		insert := func(prefix string, from time.Time, span time.Duration, rows int) []string {
			return []string{
				fmt.Sprintf("INSERT INTO bench_bin SELECT toDateTime(%d + intDiv(number * %d, %d)), concat('%s', toString(number)), "+
					"if(cityHash64(number, 1) %% 1000 >= 500, '1', '0'), (cityHash64(number, 1) %% 1000) / 1000, %s FROM numbers(%d)",
					from.Unix(), int64(span.Seconds()), rows, prefix, strings.Join(exprs, ", "), rows),
				fmt.Sprintf("INSERT INTO bench_bin_labels SELECT concat('%s', toString(number)), "+
					"if(cityHash64(number, 2) %% 1000 < cityHash64(number, 1) %% 1000, '1', '0'), toDateTime(%d + intDiv(number * %d, %d) + 60) "+
					"FROM numbers(%d) WHERE '%s' = 'r' OR number %% 2 = 0",
					prefix, from.Unix(), int64(span.Seconds()), rows, rows, prefix),
			}
		}
		stmts := []string{
			"CREATE TABLE IF NOT EXISTS bench_bin (ts DateTime, request_id String, prediction String, score Float64, " +
				strings.Join(cols, ", ") + ") ENGINE = MergeTree ORDER BY ts",
			"CREATE TABLE IF NOT EXISTS bench_bin_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
		}
		stmts = append(stmts, insert("c", scrapeNow.Add(-time.Hour), time.Hour, benchRows)...)
		stmts = append(stmts, insert("r", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 24*time.Hour, 200_000)...)
		if err := server.Exec(context.Background(), stmts...); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkScrapeBinary is BenchmarkScrape for a binary model with a score
// and labels, whose scrape joins the labels and (from this version on)
// estimates its performance without them. Run on the versions before and
// after the estimate, it says what the estimate costs a scrape.
func BenchmarkScrapeBinary(b *testing.B) {
	seedBinaryBenchTables(b)
	var f strings.Builder
	for i := range 20 {
		fmt.Fprintf(&f, "      - {name: n%d, type: numeric}\n", i)
	}
	for i := range 5 {
		fmt.Fprintf(&f, "      - {name: c%d, type: categorical}\n", i)
	}
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
`, server.Addr(), f.String()))
	errs := NewCounters()
	got := gather(b, target, errs, 2*time.Minute) // computes and caches the reference and its join
	if got[`mlmon_scrape_success{model="bench"}`] != 1 {
		b.Fatalf("bench scrape failed: %v", got)
	}
	_, estimated := got[`mlmon_estimated_accuracy_ratio{model="bench"}`]
	b.Logf("estimate emitted: %v", estimated)
	before := target.Client.Queries()
	cpuBefore, err := server.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		gather(b, target, errs, 2*time.Minute)
	}
	b.StopTimer()
	cpuAfter, err := server.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(target.Client.Queries()-before)/float64(b.N), "queries/scrape")
	b.ReportMetric((cpuAfter-cpuBefore).Seconds()/float64(b.N), "server-cpu-s/scrape")
}
