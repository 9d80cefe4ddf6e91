package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chtest"
)

// Faults of ClickHouse and of the schema, against the real binary. Every
// scrape carries Prometheus's timeout header and must answer within it.

const faultModel = `  - name: %s
    task: regression
    predictions: {table: %s, timestamp: ts, id: request_id, prediction: prediction}
    features: [{name: x, type: numeric}]
    reference: {offset: 1h}
`

// ClickHouse is down when the exporter starts, comes up, goes away (stopped,
// then frozen), and comes back: the exporter runs throughout, every scrape
// answers 200 within its timeout, says mlmon_clickhouse_up 0 while
// ClickHouse is away, and recovers by itself — no reload, no restart.
func TestClickHouseOutageAndRecovery(t *testing.T) {
	dir := t.TempDir()
	srv, err := chtest.Start(filepath.Join(dir, "ch"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ctx := context.Background()
	if err := srv.Exec(ctx, testSchema,
		"INSERT INTO p SELECT now() - 1 - number % 7000, toString(number), number % 10, number % 13 FROM numbers(20000)"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	// The default dial_timeout (5s) is longer than the scrape's budget, as
	// it may well be in production; query_timeout bounds the test's time if
	// the exporter waits for ClickHouse's sockets instead of its deadline.
	path := writeFile(t, dir, "mlmon.yml", fmt.Sprintf("clickhouse: {addr: [%q], query_timeout: 10s}\nmodels:\n", srv.Addr())+
		fmt.Sprintf(faultModel, "m", "p"))
	exp := runExporter(t, exporterOpts{config: path})

	down := func(phase string) {
		t.Helper()
		code, body, took := exp.scrape("3")
		if code != 200 {
			t.Fatalf("%s: scrape answered %d\n%s", phase, code, body)
		}
		if took > 3*time.Second {
			t.Errorf("%s: scrape took %s, beyond the 3s scrape timeout", phase, took)
		}
		want(t, parseMetrics(t, body), map[string]float64{
			`mlmon_clickhouse_up{}`:           0,
			`mlmon_scrape_success{model="m"}`: 0,
		})
		t.Logf("%s: up 0 answered in %s", phase, took.Round(time.Millisecond))
	}
	// recovered polls until a scrape succeeds fully, and reports how many
	// scrapes and how long that took after ClickHouse answered again.
	recovered := func(phase string) {
		t.Helper()
		start := time.Now()
		for n := 1; ; n++ {
			code, body, took := exp.scrape("3")
			if code != 200 || took > 3*time.Second {
				t.Errorf("%s: scrape %d answered %d in %s", phase, n, code, took)
			}
			got := parseMetrics(t, body)
			if got[`mlmon_clickhouse_up{}`] == 1 && got[`mlmon_scrape_success{model="m"}`] == 1 {
				if got[`mlmon_predictions{model="m",window="current"}`] == 0 {
					t.Errorf("%s: recovered without data:\n%s", phase, body)
				}
				t.Logf("%s: recovered on scrape %d, %s after ClickHouse came back", phase, n, time.Since(start).Round(time.Millisecond))
				if n > 2 {
					t.Errorf("%s: %d scrapes to recover; a dead pooled connection should cost at most one", phase, n)
				}
				return
			}
			if time.Since(start) > 15*time.Second {
				t.Fatalf("%s: not recovered after %s:\n%s\n%s", phase, time.Since(start), body, exp.logs)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	down("unreachable at start")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	recovered("first start")

	srv.Stop()
	down("stopped mid-run")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	recovered("restarted")

	// Frozen: the server accepts nothing and answers nothing (SIGSTOP), as
	// behind a network partition. Connections hang instead of failing.
	if err := srv.Freeze(); err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			if err := srv.Thaw(); err != nil {
				t.Error(err)
			}
			thawed = true
		}
	}
	t.Cleanup(thaw)
	down("frozen")
	down("frozen, second scrape")
	thaw()
	recovered("thawed")

	if lines := logsWith(exp.logLines(), map[string]string{"msg": "clickhouse unreachable"}); len(lines) == 0 {
		t.Errorf("the outage was not logged:\n%s", exp.logs)
	}
}

// A model whose table scans forever cannot hold the scrape hostage: the
// answer comes within the scrape timeout, the slow model says
// mlmon_scrape_success 0, the healthy one is intact, and ClickHouse runs no
// query of the scrape once it has answered. The reference profile is the
// one designed exception: it runs under query_timeout rather than the
// scrape's deadline (so a long one serves the next scrape), and must be
// gone within query_timeout.
func TestSlowClickHouse(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS slow_fast (ts DateTime, request_id String, prediction Float64, x Float64) ENGINE = MergeTree ORDER BY ts",
		"TRUNCATE TABLE slow_fast",
		"INSERT INTO slow_fast SELECT now() - 10 - number % 3000, toString(number), number % 10, number % 7 FROM numbers(5000)",
		// An endless generator; ClickHouse cancels a query over it between
		// blocks, as it does a long scan of a MergeTree table.
		"CREATE VIEW IF NOT EXISTS slow_endless AS SELECT now() - 60 AS ts, toString(number) AS request_id, "+
			"toFloat64(number) AS prediction, toFloat64(number) AS x FROM system.numbers LIMIT 100000000000",
	); err != nil {
		t.Fatal(err)
	}
	const queryTimeout = 4 * time.Second
	path := writeFile(t, t.TempDir(), "mlmon.yml", fmt.Sprintf("clickhouse: {addr: [%q], query_timeout: %s}\nmodels:\n",
		server.Addr(), queryTimeout)+fmt.Sprintf(faultModel, "fast", "slow_fast")+fmt.Sprintf(faultModel, "slow", "slow_endless"))
	exp := runExporter(t, exporterOpts{config: path})

	// running lists the mlmon queries ClickHouse is running, by query_id.
	running := func() []string {
		rows, err := server.Conn().Query(ctx, "SELECT query_id FROM system.processes WHERE query_id LIKE 'mlmon-%'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	var lastScrape time.Time
	for _, timeout := range []string{"3", "2.5"} {
		budget := time.Duration(mustFloat(t, timeout) * float64(time.Second))
		code, body, took := exp.scrape(timeout)
		lastScrape = time.Now()
		if code != 200 {
			t.Fatalf("scrape answered %d\n%s", code, body)
		}
		if took > budget {
			t.Errorf("timeout %ss: scrape took %s", timeout, took)
		}
		got := parseMetrics(t, body)
		want(t, got, map[string]float64{
			`mlmon_clickhouse_up{}`:                                            1,
			`mlmon_scrape_success{model="fast"}`:                               1,
			`mlmon_scrape_success{model="slow"}`:                               0,
			`mlmon_predictions{model="fast",window="current"}`:                 5000,
			`mlmon_feature_samples{feature="x",model="fast",window="current"}`: 5000,
		})
		if _, ok := got[`mlmon_predictions{model="slow",window="current"}`]; ok {
			t.Error("the slow model's count was reported although its query failed")
		}
		if got[`mlmon_query_errors_total{model="slow",query="operations"}`] < 1 {
			t.Errorf("the slow model's failure was not counted:\n%s", body)
		}
		t.Logf("timeout %ss: answered in %s", timeout, took.Round(time.Millisecond))

		// The scrape's own queries stop with it (give the server a moment
		// to notice the cancellation).
		deadline := time.Now().Add(time.Second)
		for {
			var left []string
			for _, id := range running() {
				if !strings.HasSuffix(id, "-reference") {
					left = append(left, id)
				}
			}
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("queries still running in ClickHouse 1s after the scrape answered: %v", left)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The reference computation is bounded by query_timeout.
	for ids := running(); len(ids) > 0; ids = running() {
		if time.Since(lastScrape) > queryTimeout+2*time.Second {
			t.Fatalf("queries still running %s after the last scrape, beyond query_timeout %s: %v",
				time.Since(lastScrape).Round(time.Millisecond), queryTimeout, ids)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lines := logsWith(exp.logLines(), map[string]string{"msg": "collect failed", "model": "slow"})
	if len(lines) == 0 {
		t.Errorf("no log line for the slow model:\n%s", exp.logs)
	}
}

func mustFloat(t *testing.T, s string) float64 {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// Schema faults are per-model errors: a missing table, a missing column, a
// String column configured as a numeric feature, a prediction column that
// does not exist, a ground-truth table that does not exist. Each fails its
// model only (mlmon_scrape_success 0), counts under the query that failed,
// and is logged with the model and the table or column it is about; the
// healthy model is untouched.
func TestSchemaFaults(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS sf_preds (ts DateTime, request_id String, prediction Float64, x Float64, str_feature String) ENGINE = MergeTree ORDER BY ts",
		"TRUNCATE TABLE sf_preds",
		// 3000 rows well inside the current hour, 3000 in the hour before
		// (the reference), clear of the windows' edges.
		"INSERT INTO sf_preds SELECT now() - 10 - number, toString(number), number % 10, number % 13, concat('v', toString(number % 5)) FROM numbers(3000)",
		"INSERT INTO sf_preds SELECT now() - 3700 - number, toString(number), number % 10, number % 13, concat('v', toString(number % 5)) FROM numbers(3000)",
	); err != nil {
		t.Fatal(err)
	}
	model := func(name, table, prediction, feature, extra string) string {
		return fmt.Sprintf(`  - name: %s
    task: regression
    predictions: {table: %s, timestamp: ts, id: request_id, prediction: %s}
    features: [{name: %s, type: numeric}]
    reference: {offset: 1h}
%s`, name, table, prediction, feature, extra)
	}
	cfg := fmt.Sprintf("clickhouse: {addr: [%q]}\nmodels:\n", server.Addr()) +
		model("healthy", "sf_preds", "prediction", "x", "") +
		model("no_table", "sf_missing_table", "prediction", "x", "") +
		model("no_column", "sf_preds", "prediction", "sf_missing_column", "") +
		model("string_feature", "sf_preds", "prediction", "str_feature", "") +
		model("no_prediction", "sf_preds", "sf_missing_prediction", "x", "") +
		model("no_labels", "sf_preds", "prediction", "x",
			"    ground_truth: {table: sf_missing_labels, id: request_id, label: prediction, timestamp: ts}\n")
	exp := runExporter(t, exporterOpts{config: writeFile(t, t.TempDir(), "mlmon.yml", cfg)})
	got := exp.metrics("10")
	want(t, got, map[string]float64{
		`mlmon_clickhouse_up{}`:                                        1,
		`mlmon_scrape_success{model="healthy"}`:                        1,
		`mlmon_predictions{model="healthy",window="current"}`:          3000,
		`mlmon_query_errors_total{model="healthy",query="operations"}`: 0,
		`mlmon_query_errors_total{model="healthy",query="reference"}`:  0,
		`mlmon_query_errors_total{model="healthy",query="drift"}`:      0,
	})
	lines := exp.logLines()
	for _, c := range []struct {
		model, query, names string
	}{
		{"no_table", "operations", "sf_missing_table"},
		{"no_column", "reference", "sf_missing_column"},
		{"string_feature", "reference", "str_feature"},
		{"no_prediction", "reference", "sf_missing_prediction"},
		{"no_labels", "performance", "sf_missing_labels"},
	} {
		t.Run(c.model, func(t *testing.T) {
			if v := got[fmt.Sprintf(`mlmon_scrape_success{model=%q}`, c.model)]; v != 0 {
				t.Errorf("mlmon_scrape_success = %v, want 0", v)
			}
			if v := got[fmt.Sprintf(`mlmon_query_errors_total{model=%q,query=%q}`, c.model, c.query)]; v < 1 {
				t.Errorf("mlmon_query_errors_total{query=%q} = %v, want ≥ 1", c.query, v)
			}
			failed := logsWith(lines, map[string]string{"msg": "collect failed", "model": c.model})
			if len(failed) == 0 {
				t.Fatalf("no log line names the model")
			}
			named := logsWith(failed, map[string]string{"err": c.names})
			if len(named) == 0 {
				t.Errorf("no log line names %s; the model's errors were:\n%v", c.names, failed)
			}
		})
	}
	// The unaffected queries of a broken model still report.
	want(t, got, map[string]float64{
		`mlmon_predictions{model="no_column",window="current"}`: 3000,
	})
}
