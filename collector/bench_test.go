package collector

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchRows is the current window's size in BenchmarkScrape (the sizing of
// docs/benchmarks.md: 20 numeric and 5 categorical features, 1M rows).
const benchRows = 1_000_000

var seedBench sync.Once

// seedBenchTable generates the rows inside ClickHouse (INSERT … SELECT from
// numbers()), so seeding a million rows takes seconds, not a client upload.
func seedBenchTable(b *testing.B) {
	seedBench.Do(func() {
		var cols, exprs []string
		for i := range 20 {
			cols = append(cols, fmt.Sprintf("n%d Float64", i))
			exprs = append(exprs, fmt.Sprintf("(cityHash64(number, %d) %% 10000) / 100.0 + if(ts >= toDateTime(%d), %d / 10.0, 0)", i, scrapeNow.Add(-time.Hour).Unix(), i))
		}
		for i := range 5 {
			cols = append(cols, fmt.Sprintf("c%d String", i))
			exprs = append(exprs, fmt.Sprintf("concat('v', toString(cityHash64(number, %d) %% %d))", 100+i, 5+10*i))
		}
		ctx := context.Background()
		ddl := "CREATE TABLE IF NOT EXISTS bench (ts DateTime, request_id String, prediction Float64, " +
			strings.Join(cols, ", ") + ") ENGINE = MergeTree ORDER BY ts"
		insert := func(from time.Time, span time.Duration, rows int) string {
			return fmt.Sprintf("INSERT INTO bench SELECT toDateTime(%d + intDiv(number * %d, %d)) AS ts, toString(number) AS request_id, "+
				"(cityHash64(number) %% 1000) / 10.0 AS prediction, %s FROM numbers(%d)",
				from.Unix(), int64(span.Seconds()), rows, strings.Join(exprs, ", "), rows)
		}
		if err := server.Exec(ctx, ddl,
			insert(scrapeNow.Add(-time.Hour), time.Hour, benchRows),
			insert(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 24*time.Hour, 200_000)); err != nil {
			b.Fatal(err)
		}
	})
}

func benchConfig() string {
	var f strings.Builder
	for i := range 20 {
		fmt.Fprintf(&f, "      - {name: n%d, type: numeric}\n", i)
	}
	for i := range 5 {
		fmt.Fprintf(&f, "      - {name: c%d, type: categorical}\n", i)
	}
	return fmt.Sprintf(`
clickhouse: {addr: [%%q], query_timeout: 60s}
models:
  - name: bench
    task: regression
    predictions: {table: bench, timestamp: ts, id: request_id, prediction: prediction}
    features:
%s    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-02T00:00:00Z}
`, f.String())
}

// BenchmarkScrape measures a scrape of one model with 25 features over 1M
// current rows, the reference already cached, and reports the ClickHouse
// queries each scrape issues and the CPU time they cost the server, which
// varies less than the time on a shared machine.
func BenchmarkScrape(b *testing.B) {
	seedBenchTable(b)
	target := loadTarget(b, fmt.Sprintf(benchConfig(), server.Addr()))
	errs := NewCounters()
	start := time.Now()
	got := gather(b, target, errs, time.Minute) // computes and caches the reference
	b.Logf("cold scrape (reference computed): %s", time.Since(start))
	if got[`mlmon_scrape_success{model="bench"}`] != 1 || got[`mlmon_predictions{model="bench",window="current"}`] != benchRows {
		b.Fatalf("bench scrape failed: success=%v rows=%v", got[`mlmon_scrape_success{model="bench"}`], got[`mlmon_predictions{model="bench",window="current"}`])
	}
	before := target.Client.Queries()
	cpuBefore, err := server.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		gather(b, target, errs, time.Minute)
	}
	b.StopTimer()
	cpuAfter, err := server.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(target.Client.Queries()-before)/float64(b.N), "queries/scrape")
	b.ReportMetric((cpuAfter-cpuBefore).Seconds()/float64(b.N), "server-cpu-s/scrape")
}
