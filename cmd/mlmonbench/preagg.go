package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/mlmon/mlmon/internal/chtest"
)

// preaggTables hold the pre-aggregation scenario: a day of predictions whose
// inserts feed deploy/clickhouse/preaggregate.sql's aggregate table through
// materialized views written for the benchmark's columns.
var preaggTables = tables{"bench_day", "bench_day_labels"}

// preaggResult compares a 24 h window scraped from the predictions with the
// same window merged from per-minute aggregates.
type preaggResult struct {
	rows, features int
	seed           time.Duration
	full           scraped
	preagg         []scraped // at preaggIntervals
	// operations: the last interval with the operations merged from the
	// aggregates too (preaggregated.operations).
	operations scraped
}

// preaggIntervals are the views' intervals compared: the edges' resolution
// against the states merged per window (1440 or 288 per column a day).
var preaggIntervals = []time.Duration{time.Minute, 5 * time.Minute}

func aggregateTable(interval time.Duration) string {
	return fmt.Sprintf("mlmon_feature_aggregates_%ds", int(interval.Seconds()))
}

// preaggregated seeds n rows over 24 h (labels for the last hour) through
// the views and scrapes the three models with a 24 h drift window, first
// from the predictions, then from the aggregates.
func (b *bench) preaggregated(n, numeric, categorical int) preaggResult {
	now := time.Now().Truncate(time.Second)
	fmt.Fprintf(os.Stderr, "pre-aggregation: seeding %d rows over 24 h × %d features through the views\n", n, numeric+categorical)
	table, err := aggregateTableDDL()
	check(err)
	create := seedSQL(preaggTables, n, 24*time.Hour, numeric, categorical, now)
	// The views must exist before the rows are inserted: create the
	// tables, then the views, then insert.
	stmts := slices.Clone(create[:4])
	for _, iv := range preaggIntervals {
		agg := aggregateTable(iv)
		stmts = append(stmts, "DROP TABLE IF EXISTS "+agg, strings.Replace(table, "mlmon_feature_aggregates", agg, 1))
		stmts = append(stmts, views(preaggTables.predictions, agg, iv, numeric, categorical)...)
	}
	start := time.Now()
	check(b.srv.Exec(context.Background(), append(stmts, create[4:]...)...))
	r := preaggResult{rows: n, features: numeric + categorical, seed: time.Since(start)}
	day := []string{"window: 24h", "performance: {window: 1h}"}
	r.full = b.scrape(numeric, categorical, scenario{tables: preaggTables, modelKeys: day}, nil)
	fmt.Fprintf(os.Stderr, "  full scan: warm %s, %.0f rows read\n", r.full.warm.Round(time.Millisecond), r.full.readRows)
	for _, iv := range preaggIntervals {
		key := fmt.Sprintf("preaggregated: {table: %s, interval: %s}", aggregateTable(iv), model.Duration(iv))
		sc := b.scrape(numeric, categorical, scenario{tables: preaggTables, modelKeys: append(day, key)}, nil)
		fmt.Fprintf(os.Stderr, "  pre-aggregated, %s: warm %s, %.0f rows read\n", model.Duration(iv), sc.warm.Round(time.Millisecond), sc.readRows)
		r.preagg = append(r.preagg, sc)
	}
	iv := preaggIntervals[len(preaggIntervals)-1]
	key := fmt.Sprintf("preaggregated: {table: %s, interval: %s, operations: true}", aggregateTable(iv), model.Duration(iv))
	r.operations = b.scrape(numeric, categorical, scenario{tables: preaggTables, modelKeys: append(day, key)}, nil)
	fmt.Fprintf(os.Stderr, "  pre-aggregated, %s, operations too: warm %s, %.0f rows read\n", model.Duration(iv), r.operations.warm.Round(time.Millisecond), r.operations.readRows)
	return r
}

// aggregateTableDDL is the CREATE TABLE of the shipped DDL, so the benchmark
// measures the table users create.
func aggregateTableDDL() (string, error) {
	const path = "deploy/clickhouse/preaggregate.sql"
	stmts, err := chtest.Statements(path)
	if err != nil {
		return "", fmt.Errorf("%w (run from the repository root)", err)
	}
	for _, stmt := range stmts {
		if strings.HasPrefix(stmt, "CREATE TABLE") {
			return stmt, nil
		}
	}
	return "", fmt.Errorf("%s has no CREATE TABLE", path)
}

// views adapts the shipped views to the benchmark's columns, as the DDL's
// comments tell users to: numeric features and the score in one, the
// categorical features and the prediction in the other.
func views(table, agg string, interval time.Duration, numeric, categorical int) []string {
	_, names := columns(numeric, categorical)
	var numNames, numValues, catNames, catValues []string
	for i, n := range append(names, "score", "prediction") {
		if i < numeric || n == "score" {
			numNames, numValues = append(numNames, "'"+n+"'"), append(numValues, "ifNull(toFloat64("+n+"), nan)")
		} else {
			catNames, catValues = append(catNames, "'"+n+"'"), append(catValues, "toNullable(toString("+n+"))")
		}
	}
	// The operations' columns, encoded as the DDL's comments say.
	numNames = append(numNames, "'ts'", "'latency_ms'", "'is_error'")
	numValues = append(numValues, "toFloat64(toUnixTimestamp(ts))", "ifNull(toFloat64(latency_ms), nan)", "if(ifNull(is_error, 0) != 0, 1, nan)")
	secs := strconv.Itoa(int(interval.Seconds()))
	view := func(name, states, names, values string) string {
		return `CREATE MATERIALIZED VIEW ` + name + ` TO ` + agg + ` AS SELECT model, feature,
			toDateTime(intDiv(toUInt32(ts), ` + secs + `) * ` + secs + `) AS interval_start, countState() AS rows, ` + states + `
			FROM ` + table + ` ARRAY JOIN [` + names + `] AS feature, [` + values + `] AS value
			GROUP BY model, feature, interval_start`
	}
	return []string{
		"DROP TABLE IF EXISTS " + agg + "_numeric", "DROP TABLE IF EXISTS " + agg + "_categorical",
		view(agg+"_numeric", `sumState(toUInt64(isFinite(value))) AS present,
			quantilesTDigestStateIf(0.5)(value, isFinite(value)) AS sketch, minStateIf(value, isFinite(value)) AS min_value,
			maxStateIf(value, isFinite(value)) AS max_value, sumMapStateIf([toUInt64(0)], [toUInt64(0)], 0) AS categories`,
			strings.Join(numNames, ", "), strings.Join(numValues, ", ")),
		view(agg+"_categorical", `sumState(toUInt64(isNotNull(value))) AS present,
			quantilesTDigestStateIf(0.5)(toFloat64(0), 0) AS sketch, minStateIf(toFloat64(0), 0) AS min_value,
			maxStateIf(toFloat64(0), 0) AS max_value,
			sumMapStateIf([cityHash64(ifNull(value, ''))], [toUInt64(1)], isNotNull(value)) AS categories`,
			strings.Join(catNames, ", "), strings.Join(catValues, ", ")),
	}
}

func printPreagg(w io.Writer, r preaggResult) {
	fmt.Fprintf(w, "\n24 h window, %d rows, %d features, 3 models (seeded through the views in %s):\n\n", r.rows, r.features, r.seed.Round(time.Second))
	fmt.Fprintln(w, "| drift window from | scrape (warm) | scrape (cold) | ClickHouse CPU/scrape | ClickHouse rows read/scrape | queries/scrape | exporter peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	row := func(name string, x scraped) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.0f | %.0f | %.0f MiB |\n", name, x.warm.Round(time.Millisecond), x.cold.Round(time.Millisecond),
			x.cpu.Round(10*time.Millisecond), x.readRows, x.queries, x.rssMiB)
	}
	row("predictions (full scan)", r.full)
	for i, iv := range preaggIntervals {
		row(fmt.Sprintf("aggregates every %s", model.Duration(iv)), r.preagg[i])
	}
	row(fmt.Sprintf("aggregates every %s, operations too", model.Duration(preaggIntervals[len(preaggIntervals)-1])), r.operations)
	fmt.Fprintln(w)
	for i, iv := range preaggIntervals {
		fmt.Fprintf(w, "full scan / aggregates every %s: %.1f× the time, %.1f× ClickHouse's CPU, %.1f× the rows read\n", model.Duration(iv),
			r.full.warm.Seconds()/r.preagg[i].warm.Seconds(), r.full.cpu.Seconds()/max(r.preagg[i].cpu.Seconds(), 0.01), r.full.readRows/max(r.preagg[i].readRows, 1))
	}
}

// printFlatness compares the sizes: with the operations merged from the
// aggregates, a scrape should cost the same whatever the traffic.
func printFlatness(w io.Writer, rs []preaggResult) {
	fmt.Fprintln(w, "\nScrape (warm) by rows over the 24 h window:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| rows | full scan | aggregates | aggregates, operations too | ClickHouse rows read/scrape, operations too |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	lo, hi := rs[0].operations.warm, rs[0].operations.warm
	for _, r := range rs {
		last := r.preagg[len(r.preagg)-1]
		fmt.Fprintf(w, "| %d | %s | %s | %s | %.0f |\n", r.rows, r.full.warm.Round(time.Millisecond), last.warm.Round(time.Millisecond),
			r.operations.warm.Round(time.Millisecond), r.operations.readRows)
		lo, hi = min(lo, r.operations.warm), max(hi, r.operations.warm)
	}
	fmt.Fprintf(w, "\nwith the operations from the aggregates, the slowest size scraped in %.2f× the fastest's time\n", hi.Seconds()/lo.Seconds())
}
