//go:build chdb

// The compatibility test: the exporter's SQL on ClickHouse 18.16 (Debian's
// package, a private server) and on the current engine (chDB), on the same
// rows, compared cell by cell and metric by metric.
//
// Run it (about 10 s; chDB is installed once, outside the repository):
//
//	scripts/install-chdb.sh
//	go test -tags chdb -count=1 ./internal/compat/
//
// MLMON_CHDB_DIR selects another installation (default /opt/mlmon-chdb, as
// installed by the script). No CGO_CFLAGS or CGO_LDFLAGS are needed: the
// library is loaded with dlopen at run time (cgo and gcc are). Without
// libchdb.so the test fails; it never skips.
package compat

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
)

// compatConfig covers the three tasks and every kind of column and
// reference the builders handle. %s is the 18.16 server's address.
const compatConfig = `
clickhouse: {addr: [%q], query_timeout: 20s}
defaults: {window: 1h, bins: 10, max_categories: 4, min_samples: 50}
models:
  - name: churn
    task: binary_classification
    positive_class: "1"
    predictions: {table: preds, timestamp: ts, id: request_id, model_column: model, version_column: model_version,
                  prediction: prediction, score: score, latency: latency_ms, error: is_error}
    ground_truth: {table: labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 2h, delay: 30m}
    features:
      - {name: age, type: numeric}
      - {name: income, type: numeric}
      - {name: visits, type: numeric}
      - {name: plan, type: categorical}
      - {name: region, type: categorical}
      - {name: promo, type: categorical}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
  - name: "intent's \\ model"
    task: multiclass_classification
    sample: 0.6
    predictions: {table: preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction, latency: latency_ms}
    scores: {billing: score, cancel: latency_ms, "it's other": age}
    ground_truth: {table: labels, id: request_id, label: label, timestamp: ts}
    features:
      - {name: age, type: numeric}
      - {name: plan, type: categorical}
    reference: {offset: 24h}
  - name: ghost
    task: binary_classification
    positive_class: "yes"
    predictions: {table: preds, timestamp: ts, id: request_id, model_column: model, version_column: model_version,
                  prediction: prediction, score: score, latency: latency_ms, error: is_error}
    ground_truth: {table: labels, id: request_id, label: label, timestamp: ts}
    features:
      - {name: income, type: numeric}
      - {name: region, type: categorical}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-01T06:00:00Z}
  - name: eta
    task: regression
    predictions: {table: reg_preds, timestamp: ts, id: request_id, version_column: build, prediction: prediction, latency: latency_ms}
    ground_truth: {table: reg_labels, id: request_id, label: label, timestamp: ts}
    features:
      - {name: distance, type: numeric}
      - {name: stops, type: numeric}
      - {name: zone, type: categorical}
    reference: {table: mlmon.training, prediction: prediction}
  - name: eta_sampled
    task: regression
    sample: 0.5
    min_samples: 20
    predictions: {table: reg_preds, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: reg_labels, id: request_id, label: label, timestamp: ts}
    performance: {window: 3h}
    features:
      - {name: distance, type: numeric}
      - {name: zone, type: categorical}
    reference: {offset: 24h}
  - name: car
    task: regression
    predictions: {table: reg_preds, timestamp: ts, id: request_id, model_column: fleet, prediction: prediction}
    ground_truth: {table: reg_labels, id: request_id, label: label, timestamp: ts}
    features:
      - {name: distance, type: numeric}
    reference: {offset: 24h}
`

// floatTolerance: float aggregates (sums, variances) may differ in the last
// bits between engines; everything else must be equal.
var floatTolerance = Tolerance{Rel: 1e-9}

// pendingFixes are changes the builders in internal/chquery need so that
// both engines agree. The test applies them to the rendered SQL, proves on
// the seeded data that each one is needed (the original SQL gives different
// results, or fails, on one engine), and proves the rest of the SQL right
// with them. Once chquery has a fix, its pattern no longer matches and the
// test says to delete the entry here.
var pendingFixes = []pendingFix{}

type pendingFix struct {
	name    string
	apply   func(sql string) string
	applied int // queries it changed
	needed  int // of those, where the builder's own SQL failed or disagreed
}

// replacer replaces old/new pairs of literal text.
func replacer(oldnew ...string) func(string) string {
	return strings.NewReplacer(oldnew...).Replace
}

// tinyLiteral matches floatLit's rendering of a float below 1e-299.
var tinyLiteral = regexp.MustCompile(`toFloat64\(-?[0-9.]+e-3[0-9]{2}\)`)

// subnormalLiteral rewrites toFloat64(<subnormal>) as an exact product of
// normal literals: m · 2⁻⁵³⁷ · 2⁻⁵³⁷ = m · 2⁻¹⁰⁷⁴, which is the subnormal.
func subnormalLiteral(match string) string {
	lit := strings.TrimSuffix(strings.TrimPrefix(match, "toFloat64("), ")")
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || f == 0 || math.Abs(f) >= 0x1p-1022 {
		return match
	}
	m := int64(math.Float64bits(math.Abs(f)))
	if f < 0 {
		m = -m
	}
	return fmt.Sprintf("toFloat64(%d * 2.2227587494850775e-162 * 2.2227587494850775e-162)", m)
}

// env holds both engines and what the comparison has seen.
type env struct {
	srv    *chtest.Server
	chdb   *ChDB
	client *chquery.Client // the exporter's own client, on 18.16
	ctx    context.Context

	queries, inexact int
	inexactAt        map[string]bool // query: column with inexact floats
	names            map[string]bool // column names that differ (informational)
}

// run18 runs SQL on 18.16 with the settings the exporter's client sends.
func (e *env) run18(sql string, args ...any) (*Result, error) {
	ctx := clickhouse.Context(e.ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_execution_time": 20, "join_use_nulls": 0, "readonly": 2,
	}))
	rows, err := e.srv.Conn().Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return FromRows(rows)
}

// outcome is one query on both engines.
type outcome struct {
	r18, rch *Result // the SQL with the pending fixes
	orig18   *Result // the builder's SQL as is, on 18.16 (the exporter's view)
}

// compare runs a builder's query on both engines and reports every
// difference. 18.16 gets the SQL with clickhouse-go binding its arguments,
// as in production, and also as Bind renders it, which proves Bind; chDB
// gets Bind's text.
func (e *env) compare(t *testing.T, what string, q chquery.Query) outcome {
	t.Helper()
	fixed, applied := withFixes(q.SQL, nil)
	e.queries++
	sortRows := !strings.Contains(q.SQL, "ORDER BY")
	r18, rch, err := e.both(fixed, q.Args)
	if err != nil {
		t.Fatalf("%s: %v\nSQL: %s\nargs: %#v", what, err, fixed, q.Args)
	}
	c := Compare(r18, rch, floatTolerance, sortRows)
	e.inexact += len(c.Inexact)
	for _, col := range c.Inexact {
		e.inexactAt[q.Name+": "+col] = true
		// Both engines' quantiles are exact below 8192 rows (18.16's
		// reservoir holds every value), so only sums may differ.
		if strings.HasPrefix(col, "quantiles") || col == "latency" {
			t.Errorf("%s: quantiles %s differ in the last bits: they must be exact", what, col)
		}
	}
	for _, n := range c.Names {
		e.names[n] = true
	}
	if len(c.Differences) > 0 {
		t.Errorf("%s: 18.16 and chDB disagree:\n  %s\nSQL: %s", what, strings.Join(first(c.Differences, 15), "\n  "), mustBind(t, fixed, q.Args))
	}
	out := outcome{r18: r18, rch: rch, orig18: r18}
	if len(applied) == 0 {
		return out
	}
	// Prove each fix needed: without it (and with the others), the engines
	// disagree or one fails.
	for _, f := range applied {
		f.applied++
		without, _ := withFixes(q.SQL, f)
		why := e.disagreement(without, q.Args, sortRows)
		if why != "" {
			f.needed++
			t.Logf("%s without the fix %q: %s", what, f.name, why)
		}
	}
	// The exporter's view: the builder's SQL as is, on 18.16.
	out.orig18, err = e.run18(q.SQL, q.Args...)
	if err != nil {
		t.Logf("%s: the builder's SQL fails on 18.16: %v", what, err)
	}
	return out
}

// withFixes applies every pending fix but skip, and says which changed sql.
func withFixes(sql string, skip *pendingFix) (string, []*pendingFix) {
	var applied []*pendingFix
	for i := range pendingFixes {
		f := &pendingFixes[i]
		if f == skip {
			continue
		}
		if s := f.apply(sql); s != sql {
			sql = s
			applied = append(applied, f)
		}
	}
	return sql, applied
}

// disagreement runs sql on both engines and says how they disagree, or "".
func (e *env) disagreement(sql string, args []any, sortRows bool) string {
	text, err := Bind(sql, args...)
	if err != nil {
		return err.Error()
	}
	a, err18 := e.run18(sql, args...)
	b, errCH := e.chdb.Query(text)
	switch {
	case err18 != nil || errCH != nil:
		return fmt.Sprintf("18.16: %v; chDB: %v", short(err18), short(errCH))
	}
	if d := Compare(a, b, floatTolerance, sortRows).Differences; len(d) > 0 {
		return fmt.Sprintf("%s (%d differences)", d[0], len(d))
	}
	return ""
}

func short(err error) string {
	if err == nil {
		return "ok"
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// both runs SQL on both engines; on 18.16 twice, bound by clickhouse-go and
// by Bind, which must agree exactly.
func (e *env) both(sql string, args []any) (r18, rch *Result, err error) {
	text, err := Bind(sql, args...)
	if err != nil {
		return nil, nil, err
	}
	if r18, err = e.run18(sql, args...); err != nil {
		return nil, nil, fmt.Errorf("18.16: %w", err)
	}
	byText, err := e.run18(text)
	if err != nil {
		return nil, nil, fmt.Errorf("18.16, bound by Bind: %w", err)
	}
	if d := Compare(r18, byText, Tolerance{}, !strings.Contains(sql, "ORDER BY")).Differences; len(d) > 0 {
		return nil, nil, fmt.Errorf("Bind renders the arguments differently from clickhouse-go: %v", first(d, 3))
	}
	if rch, err = e.chdb.Query(text); err != nil {
		return nil, nil, fmt.Errorf("chDB: %w", err)
	}
	// Current releases plan queries with the analyzer (the default since
	// 24.3); releases before it, and servers that turn it off, with the old
	// planner. The SQL must mean the same to both.
	old, err := e.oldPlanner(text)
	if err != nil {
		return nil, nil, fmt.Errorf("chDB without the analyzer: %w", err)
	}
	if d := Compare(rch, old, floatTolerance, !strings.Contains(sql, "ORDER BY")).Differences; len(d) > 0 {
		return nil, nil, fmt.Errorf("chDB with and without the analyzer disagree: %v", first(d, 3))
	}
	return r18, rch, nil
}

// oldPlanner runs a query on chDB with enable_analyzer = 0.
func (e *env) oldPlanner(sql string) (*Result, error) {
	if err := e.chdb.Exec("SET enable_analyzer = 0"); err != nil {
		return nil, err
	}
	defer func() { _ = e.chdb.Exec("SET enable_analyzer = 1") }()
	return e.chdb.Query(sql)
}

func mustBind(t *testing.T, sql string, args []any) string {
	s, err := Bind(sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQLAgreesOnBothEngines(t *testing.T) {
	start := time.Now()
	lib, err := LibChDB()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := OpenChDB(lib, filepath.Join(dir, "chdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := chtest.Start(filepath.Join(dir, "clickhouse"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	e := &env{srv: srv, chdb: db, ctx: context.Background(), names: map[string]bool{}, inexactAt: map[string]bool{}}

	v18, err := e.run18("SELECT version()")
	if err != nil {
		t.Fatal(err)
	}
	vch, err := db.Query("SELECT version()")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("engines: ClickHouse %v (server) and %v (chDB, %s); started in %s",
		v18.Rows[0][0], vch.Rows[0][0], lib, time.Since(start).Round(time.Millisecond))

	all := seed(t, srv, db)
	checkSeeded(t, e, all)
	// From here on chDB, like the exporter's 18.16 session, may only read.
	if err := db.Exec("SET join_use_nulls = 0", "SET readonly = 2"); err != nil {
		t.Fatal(err)
	}

	cfg, err := config.Parse([]byte(fmt.Sprintf(compatConfig, srv.Addr())))
	if err != nil {
		t.Fatal(err)
	}
	if e.client, err = chquery.Open(cfg.ClickHouse, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	defer e.client.Close()

	got := map[string]*metrics{}
	for i := range cfg.Models {
		m := &cfg.Models[i]
		t.Run(m.Name, func(t *testing.T) {
			m18, mch := newMetrics(), newMetrics()
			e.model(t, m, m18, mch)
			compareMetrics(t, m18, mch)
			t.Logf("%d metrics computed from each engine's results agree", len(m18.values))
			got[m.Name] = m18
		})
	}
	t.Run("segments", func(t *testing.T) { e.segments(t, cfg) })
	t.Run("probes", func(t *testing.T) { e.probes(t, &cfg.Models[0]) })
	t.Run("kill", e.killStatements)
	requireCoverage(t, got)

	for _, f := range pendingFixes {
		switch {
		case f.applied == 0:
			t.Errorf("pending fix %q matches no query any more: if internal/chquery has it now, delete it from pendingFixes", f.name)
		case f.needed == 0:
			t.Errorf("pending fix %q changed %d queries but none disagreed without it: the seeded data no longer proves it needed", f.name, f.applied)
		default:
			t.Logf("pending fix needed (%d of %d queries it changes disagree without it): %s", f.needed, f.applied, f.name)
		}
	}
	if names := slices.Sorted(maps.Keys(e.names)); len(names) > 0 {
		t.Logf("%d columns named differently (harmless: the client reads by position), such as %s", len(names), names[0])
	}
	t.Logf("float columns that agree within %g but not to the bit: %s",
		floatTolerance.Rel, strings.Join(slices.Sorted(maps.Keys(e.inexactAt)), "; "))
	t.Logf("%d queries compared, %d float cells not bit-identical; %s in all",
		e.queries, e.inexact, time.Since(start).Round(time.Millisecond))
}

// requireCoverage makes sure the data exercised what the test claims: the
// metrics exist, so that agreement is not agreement on nothing.
func requireCoverage(t *testing.T, got map[string]*metrics) {
	for model, keys := range map[string][]string{
		"churn": {"roc_auc{current}", "roc_auc{reference}", "log_loss{current}", "accuracy{reference}", "label_psi",
			"latency{0.99}", "error_ratio", "last_label", "feature_psi{age}", "feature_psi{income}", "feature_psi{visits}",
			"feature_psi{plan}", "feature_psi{region}", "feature_unseen{plan}", "feature_samples{promo,current}",
			"feature_wasserstein{income}", "feature_out_of_range{age}", "prediction_psi", "class_f1{1}"},
		intentName: {"accuracy{current}", "accuracy{reference}", "f1{current,macro}", "feature_psi{age}", "prediction_psi", "label_psi",
			"roc_auc{current}", "roc_auc{reference}", "estimated_accuracy", "estimated_roc_auc", "calibration_error{calibrated}"},
		"ghost":       {"predictions{current}", "predictions{reference}", "feature_samples{income,current}"},
		"eta":         {"mae{current}", "r2{current}", "mape{current}", "feature_psi{distance}", "feature_ks{stops}", "feature_psi{zone}", "prediction_psi"},
		"eta_sampled": {"mae{current}", "mae{reference}", "feature_psi{distance}", "prediction_psi"},
	} {
		m := got[model]
		if m == nil {
			continue // its subtest failed
		}
		for _, k := range keys {
			if _, ok := m.values[k]; !ok {
				t.Errorf("%s: %s not computed: the seeded data no longer covers it", model, k)
			}
		}
	}
	if v := got["churn"]; v != nil && v.strings["version"] == "" {
		t.Error("churn: no version found")
	}
}
