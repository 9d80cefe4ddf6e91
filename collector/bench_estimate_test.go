package collector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var seedMulticlassBench sync.Once

// seedMulticlassBenchTables writes BenchmarkScrapeEstimate's multiclass
// rows: as seedBinaryBenchTables (1M current and 200k reference rows, 20
// numeric and 5 categorical features, every reference row labelled and
// half of the current ones), for a 4-class model whose probabilities p0 …
// p3 sum to 1 and whose prediction is the most probable class, right about
// 70% of the time.
func seedMulticlassBenchTables(b *testing.B) {
	seedMulticlassBench.Do(func() {
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
				fmt.Sprintf("INSERT INTO bench_mc SELECT toDateTime(%d + intDiv(number * %d, %d)), concat('%s', toString(number)), "+
					"['a', 'b', 'c', 'd'][indexOf(mlmon_r, arrayReduce('max', mlmon_r))], mlmon_r[1] / mlmon_s, mlmon_r[2] / mlmon_s, mlmon_r[3] / mlmon_s, mlmon_r[4] / mlmon_s, %s "+
					"FROM (SELECT number, [(cityHash64(number, 11) %% 1000 + 1) / 1000, (cityHash64(number, 12) %% 1000 + 1) / 1000, "+
					"(cityHash64(number, 13) %% 1000 + 1) / 1000, (cityHash64(number, 14) %% 1000 + 1) / 1000] AS mlmon_r, arraySum(mlmon_r) AS mlmon_s FROM numbers(%d))",
					from.Unix(), int64(span.Seconds()), rows, prefix, strings.Join(exprs, ", "), rows),
				fmt.Sprintf("INSERT INTO bench_mc_labels SELECT concat('%s', toString(request_id_n)), "+
					"if(cityHash64(request_id_n, 2) %% 10 < 7, prediction, ['a', 'b', 'c', 'd'][cityHash64(request_id_n, 3) %% 4 + 1]), ts + 60 "+
					"FROM (SELECT toUInt64(substring(request_id, 2)) AS request_id_n, prediction, ts FROM bench_mc WHERE startsWith(request_id, '%s')) "+
					"WHERE '%s' = 'r' OR request_id_n %% 2 = 0",
					prefix, prefix, prefix),
			}
		}
		stmts := []string{
			"CREATE TABLE IF NOT EXISTS bench_mc (ts DateTime, request_id String, prediction String, p0 Float64, p1 Float64, p2 Float64, p3 Float64, " +
				strings.Join(cols, ", ") + ") ENGINE = MergeTree ORDER BY ts",
			"CREATE TABLE IF NOT EXISTS bench_mc_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
		}
		stmts = append(stmts, insert("c", scrapeNow.Add(-time.Hour), time.Hour, benchRows)...)
		stmts = append(stmts, insert("r", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 24*time.Hour, 200_000)...)
		if err := server.Exec(context.Background(), stmts...); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkScrapeEstimate measures what the label-free estimate costs a
// whole scrape, in ClickHouse CPU: a binary model with a score (the tables
// of BenchmarkScrapeBinary) with and without the estimate, and a 4-class
// model with and without it, and without scores: at all (the scrape of a
// multiclass model without scores:, as before the estimate: no class score histograms in the
// classification join, and no realised multiclass ROC AUC). "Without the
// estimate" leaves the current window's score histograms out of the drift
// pass (Target.withoutEstimate); the labelled histograms of the classification join
// stay, for the realised ROC AUC and the calibration errors. Every model
// has its reference cached before the clock starts, and the variants run
// in turn within each round, so the machine's load falls on each alike.
func BenchmarkScrapeEstimate(b *testing.B) {
	seedBinaryBenchTables(b)
	seedMulticlassBenchTables(b)
	var f strings.Builder
	for i := range 20 {
		fmt.Fprintf(&f, "      - {name: n%d, type: numeric}\n", i)
	}
	for i := range 5 {
		fmt.Fprintf(&f, "      - {name: c%d, type: categorical}\n", i)
	}
	features := f.String()
	load := func(model string) *Target {
		return loadTarget(b, fmt.Sprintf(`
clickhouse: {addr: [%q], query_timeout: 60s}
models:
  - name: bench
%s    performance: {window: 1h, delay: 0s}
    features:
%s    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-02T00:00:00Z}
`, server.Addr(), model, features))
	}
	binary := load(`    task: binary_classification
    positive_class: "1"
    predictions: {table: bench_bin, timestamp: ts, id: request_id, prediction: prediction, score: score}
    ground_truth: {table: bench_bin_labels, id: request_id, label: label, timestamp: ts}
`)
	multiclass := `    task: multiclass_classification
    predictions: {table: bench_mc, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: bench_mc_labels, id: request_id, label: label, timestamp: ts}
`
	scored := load(multiclass + "    scores: {a: p0, b: p1, c: p2, d: p3}\n")
	plain := load(multiclass)
	variants := []struct {
		name     string
		target   *Target
		off      bool
		estimate bool // whether the scrape must emit the estimate
	}{
		{"binary", binary, true, false},
		{"binary+estimate", binary, false, true},
		{"multiclass", plain, true, false},
		{"multiclass+scores", scored, true, false},
		{"multiclass+scores+estimate", scored, false, true},
	}
	errs := NewCounters()
	scrape := func(name string, target *Target, off, estimate bool) {
		target.withoutEstimate = off
		got := gather(b, target, errs, 2*time.Minute)
		if got[`mlmon_scrape_success{model="bench"}`] != 1 {
			b.Fatalf("%s: scrape failed: %v", name, got)
		}
		if _, ok := got[`mlmon_estimated_accuracy_ratio{model="bench"}`]; ok != estimate {
			b.Fatalf("%s: estimate emitted %v, want %v", name, ok, estimate)
		}
	}
	for _, v := range variants { // computes and caches the references and their joins
		scrape(v.name, v.target, v.off, v.estimate)
	}
	cpu := map[string][]float64{}
	b.ResetTimer()
	for b.Loop() {
		for _, v := range variants {
			before, err := server.CPUTime()
			if err != nil {
				b.Fatal(err)
			}
			scrape(v.name, v.target, v.off, v.estimate)
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
	// The machine's speed drifts between rounds more than the estimate
	// costs: the median of each round's ratio compares scrapes that ran
	// side by side.
	ratio := func(with, without string) float64 {
		var rs []float64
		for i := range cpu[with] {
			rs = append(rs, cpu[with][i]/cpu[without][i])
		}
		return median(rs)
	}
	b.ReportMetric(ratio("binary+estimate", "binary"), "ratio/binary-estimate")
	b.ReportMetric(ratio("multiclass+scores+estimate", "multiclass+scores"), "ratio/multiclass-estimate")
	b.Logf("server CPU per scrape, each round: %v", cpu)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
