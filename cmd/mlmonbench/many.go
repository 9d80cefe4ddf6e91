package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// The many-models scenario: m binary models sharing one predictions and
// one labels table, n predictions in all over the last hour, labelled, 20
// numeric and 5 categorical features each. What it shows is the exporter's
// peak RSS as the number of models grows: each model keeps only its cached
// reference (bins, grid, categories) between scrapes, and a scrape holds
// the aggregates of max_parallel_queries models at a time.
var manyTables = tables{"many", "many_labels"}

type manyResult struct {
	models         int
	warm, cold     time.Duration
	queries        float64
	series         int
	bytesPerScrape int64
	rssMiB         float64
}

// manyModels measures the scenario for each number of models in counts,
// with n predictions in all.
func (b *bench) manyModels(counts []int, n int) []manyResult {
	var out []manyResult
	for _, m := range counts {
		now := time.Now().Truncate(time.Second)
		fmt.Fprintf(os.Stderr, "many models: %d models, %d rows in all\n", m, n)
		check(b.srv.Exec(context.Background(), seedShapeSQL(manyTables, n, time.Hour, busyNumeric, busyCategorical, now, m,
			fmt.Sprintf("ts >= toDateTime(%d)", now.Add(-time.Hour).Unix()))...))
		s := b.scrape(busyNumeric, busyCategorical, scenario{tables: manyTables, models: m}, nil)
		r := manyResult{models: m, warm: s.warm, cold: s.cold, queries: s.queries, series: series(s.last), bytesPerScrape: s.bytesPerScrape, rssMiB: s.rssMiB}
		fmt.Fprintf(os.Stderr, "  scrape cold %s, warm %s, %.0f queries, %d series, %.0f MiB RSS\n", r.cold.Round(time.Millisecond),
			r.warm.Round(time.Millisecond), r.queries, r.series, r.rssMiB)
		out = append(out, r)
	}
	return out
}

// series counts the samples of a scrape in the text format.
func series(text string) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

func printMany(w io.Writer, n int, rs []manyResult) {
	fmt.Fprintf(w, "\nMany models: %d predictions in all over the last hour, shared by every model, %d numeric + %d categorical features each:\n\n",
		n, busyNumeric, busyCategorical)
	fmt.Fprintln(w, "| models | series | scrape (warm) | scrape (cold) | queries/scrape | bytes to exporter/scrape | exporter peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %d | %s | %s | %.0f | %.1f kB | %.0f MiB |\n", r.models, r.series, r.warm.Round(time.Millisecond), r.cold.Round(time.Millisecond),
			r.queries, float64(r.bytesPerScrape)/1000, r.rssMiB)
	}
}
