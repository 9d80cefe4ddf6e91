package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/mlmon/mlmon/internal/config"
)

// The estimate scenario: what the label-free performance estimate costs a
// scrape, in ClickHouse CPU, on 18.16 and on the current release. Two models
// of n predictions over the last hour each, with 20 numeric and 5
// categorical features and a labelled reference day of n/5 rows, labels for
// half of the current rows: m0, binary with a score, and m1, 4-class with
// scores: (the shapes of the collector's BenchmarkScrapeEstimate). The
// exporter scrapes them on 18.16; the last warm scrape's SQL is read back
// from the query log. The estimate adds to a scrape only the current
// window's score keys in the drift pass (docs/statistics.md), so the scrape
// without it is the same statements with those keys left out of the pass's
// arrayJoin. Both forms run on both engines, one statement at a time,
// round-robin.
var estimateTables = tables{"est_bin", "est_bin_labels"}

// estimateModels is the scenario's configuration: the models' keys after
// their names.
func estimateModels(features string) string {
	common := `    features:
` + features + `    reference: {from: 2026-01-01T00:00:00Z, to: 2026-01-02T00:00:00Z}
    window: 1h
    delay: 0s
    performance: {window: 1h, delay: 0s}
`
	return `  - name: m0
    task: binary_classification
    positive_class: "1"
    predictions: {table: est_bin, timestamp: ts, id: request_id, prediction: prediction, score: score, latency: latency_ms, error: is_error}
    ground_truth: {table: est_bin_labels, id: request_id, label: label, timestamp: ts}
` + common + `  - name: m1
    task: multiclass_classification
    predictions: {table: est_mc, timestamp: ts, id: request_id, prediction: prediction, latency: latency_ms, error: is_error}
    ground_truth: {table: est_mc_labels, id: request_id, label: label, timestamp: ts}
    scores: {a: p0, b: p1, c: p2, d: p3}
` + common
}

// estimateSeedSQL is m0's rows (seedShapeSQL) and m1's: the same rows with
// four class probabilities summing to 1, the most probable predicted, and
// labels that agree with the prediction 70% of the time.
func estimateSeedSQL(n int, now time.Time) []string {
	labelled := fmt.Sprintf("ts < toDateTime(%d) OR cityHash64(request_id) %% 2 = 0", now.Add(-time.Hour).Unix())
	stmts := seedShapeSQL(estimateTables, n, time.Hour, busyNumeric, busyCategorical, now, 1, labelled)
	_, names := columns(busyNumeric, busyCategorical)
	cols := "ts, request_id, model, score, latency_ms, is_error, " + strings.Join(names, ", ")
	return append(stmts,
		"DROP TABLE IF EXISTS est_mc", "DROP TABLE IF EXISTS est_mc_labels",
		"CREATE TABLE est_mc AS est_bin",
		"ALTER TABLE est_mc ADD COLUMN p0 Float64, ADD COLUMN p1 Float64, ADD COLUMN p2 Float64, ADD COLUMN p3 Float64",
		"CREATE TABLE est_mc_labels AS est_bin_labels",
		fmt.Sprintf(`INSERT INTO est_mc (%s, prediction, p0, p1, p2, p3) SELECT %s,
			['a', 'b', 'c', 'd'][indexOf(mlmon_r, arrayReduce('max', mlmon_r))], mlmon_r[1] / mlmon_s, mlmon_r[2] / mlmon_s, mlmon_r[3] / mlmon_s, mlmon_r[4] / mlmon_s
			FROM (SELECT %s, [(cityHash64(request_id, 11) %% 1000 + 1) / 1000, (cityHash64(request_id, 12) %% 1000 + 1) / 1000,
				(cityHash64(request_id, 13) %% 1000 + 1) / 1000, (cityHash64(request_id, 14) %% 1000 + 1) / 1000] AS mlmon_r, arraySum(mlmon_r) AS mlmon_s FROM est_bin)`,
			cols, cols, cols),
		fmt.Sprintf(`INSERT INTO est_mc_labels SELECT request_id,
			if(cityHash64(request_id, 2) %% 10 < 7, prediction, ['a', 'b', 'c', 'd'][cityHash64(request_id, 3) %% 4 + 1]), ts + 60 FROM est_mc WHERE %s`, labelled),
		// Merged now, so that no background merge lands on a timed
		// query: they moved single statements by a tenth on ClickHouse 26.
		"OPTIMIZE TABLE est_bin FINAL", "OPTIMIZE TABLE est_bin_labels FINAL",
		"OPTIMIZE TABLE est_mc FINAL", "OPTIMIZE TABLE est_mc_labels FINAL",
	)
}

// scoreKeys matches the estimate's keys in the drift pass's arrayJoin: the
// binary score key and the class score keys (chquery.WindowQuery).
var scoreKeys = regexp.MustCompile(`, mlmon_(ss|mk\d+)\b`)

// withoutEstimate is the drift pass q without the estimate's keys, and
// whether q had any.
func withoutEstimate(q string) (string, bool) {
	i := strings.Index(q, "arrayJoin([")
	if i < 0 {
		return q, false
	}
	j := i + strings.Index(q[i:], "])")
	list := scoreKeys.ReplaceAllString(q[i:j], "")
	return q[:i] + list + q[j:], list != q[i:j]
}

// estimateCost is one model's scrape on one engine: the CPU of its
// statements, summed, with and without the estimate, and of its drift pass.
type estimateCost struct {
	scrapeWith, scrapeWithout, driftWith, driftWithout time.Duration
}

type estimateResult struct {
	rows                int
	legacy, recent      [2]estimateCost // m0, m1
	statements          [2]int
	recentError         string
	legacyScrapeWarmCPU time.Duration // the exporter's warm scrapes on 18.16, both models
}

// estimate measures the scenario at n rows per model.
func (b *bench) estimate(n, rounds int) estimateResult {
	dir := filepath.Join(b.dir, fmt.Sprintf("estimate-%d", n))
	bb := b.loggingQueries(dir)
	srv := bb.srv
	defer srv.Stop()
	now := time.Now().Truncate(time.Second)
	seed := estimateSeedSQL(n, now)
	fmt.Fprintf(os.Stderr, "estimate: seeding two models of %d rows in the last hour\n", n)
	check(srv.Exec(context.Background(), seed...))

	var lastStart time.Time
	sc := scenario{tables: estimateTables, config: estimateModels(featuresYAML(busyNumeric, busyCategorical))}
	scraped := bb.scrape(busyNumeric, busyCategorical, sc, func() { lastStart = time.Now() })
	r := estimateResult{rows: n, legacyScrapeWarmCPU: scraped.cpu}
	for _, m := range []string{"m0", "m1"} {
		if !strings.Contains(scraped.last, `mlmon_estimated_accuracy_ratio{model="`+m+`"}`) {
			check(fmt.Errorf("model %s: the scrape has no estimate:\n%s", m, grep(scraped.last, `model="`+m+`"`)))
		}
	}
	cfg, err := config.Load(filepath.Join(bb.dir, "mlmon.yml"))
	check(err)

	// Each model's statements in the form each engine gets them, and its
	// drift pass without the estimate's keys.
	var with [2][]string
	var drift [2]int // index of the drift pass in with[m]
	var driftWithout [2]string
	for _, q := range loggedScrape(srv, lastStart) {
		m := 0
		if strings.Contains(q.sql, "`est_mc`") {
			m = 1
		}
		for _, sql := range forCurrentServer(srv, &cfg.Models[m], q.sql) {
			if stripped, changed := withoutEstimate(sql); changed {
				drift[m], driftWithout[m] = len(with[m]), stripped
			}
			with[m] = append(with[m], sql)
		}
	}
	for m := range 2 {
		if driftWithout[m] == "" {
			check(fmt.Errorf("model m%d: no drift pass with the estimate's keys among:\n%s", m, strings.Join(with[m], "\n\n")))
		}
		r.statements[m] = len(with[m])
	}
	// One list for both engines: m0 with, m0's drift without, m1 with,
	// m1's drift without.
	var qs []string
	for m := range 2 {
		qs = append(append(qs, with[m]...), driftWithout[m])
	}
	sum := func(costs []cost) (out [2]estimateCost) {
		k := 0
		for m := range 2 {
			var total time.Duration
			for i := range with[m] {
				total += costs[k+i].cpu
			}
			dw, dwo := costs[k+drift[m]].cpu, costs[k+len(with[m])].cpu
			out[m] = estimateCost{scrapeWith: total, scrapeWithout: total - dw + dwo, driftWith: dw, driftWithout: dwo}
			k += len(with[m]) + 1
		}
		return out
	}
	legacy := make([][]cost, len(qs))
	for range rounds + 1 { // the first round warms up
		for i, q := range qs {
			wall, cpu := bb.measure(q)
			legacy[i] = append(legacy[i], cost{wall: wall, cpu: cpu})
		}
	}
	var legacyCosts []cost
	for _, s := range legacy {
		legacyCosts = append(legacyCosts, medianCost(s[1:]))
	}
	r.legacy = sum(legacyCosts)
	_, recent, err := onCurrent(filepath.Join(dir, "chdb"), seed, nil, qs, rounds)
	if err != nil {
		r.recentError = err.Error()
		fmt.Fprintf(os.Stderr, "  current release not measured: %v\n", err)
		return r
	}
	r.recent = sum(recent)
	return r
}

func printEstimate(w io.Writer, r estimateResult) {
	fmt.Fprintf(w, "\nThe label-free estimate's cost: %d predictions per model in the last hour, 20 numeric + 5 categorical features; ClickHouse CPU per scrape of the model, medians:\n\n", r.rows)
	fmt.Fprintln(w, "| model | engine | drift pass without → with the estimate | scrape without | scrape with | estimate's share |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	name := [2]string{"binary, a score", "4 classes, scores:"}
	row := func(m int, engine string, c estimateCost) {
		fmt.Fprintf(w, "| %s | %s | %.3f s → %.3f s | %.3f s | %.3f s | %+.1f %% |\n", name[m], engine,
			c.driftWithout.Seconds(), c.driftWith.Seconds(), c.scrapeWithout.Seconds(), c.scrapeWith.Seconds(),
			100*(c.scrapeWith.Seconds()/c.scrapeWithout.Seconds()-1))
	}
	for m := range 2 {
		if r.recentError == "" {
			row(m, "ClickHouse 26 (chDB)", r.recent[m])
		}
		row(m, "ClickHouse 18.16", r.legacy[m])
	}
	fmt.Fprintf(w, "\nThe statements of a scrape: %d for the binary model, %d for the 4-class one, run one at a time. The exporter's own warm scrapes of both models on 18.16 took %.2f s of ClickHouse CPU (median).\n",
		r.statements[0], r.statements[1], r.legacyScrapeWarmCPU.Seconds())
	if r.recentError != "" {
		fmt.Fprintf(w, "ClickHouse 26 not measured: %s\n", r.recentError)
	}
}
