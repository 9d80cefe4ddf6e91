package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killBlock is how long one block of the slow view takes on an idle
// server: sleepEachRow over a block of 65536 rows (18.16 allows at most 3 s
// per block). ClickHouse stops a query only between blocks.
const killBlock = 1300 * time.Millisecond

// slowBlock is how long one block of the slow view takes now, and at least
// killBlock: on a machine busy with other tests a block's sleeps stretch
// (a query was gone 2.31 s and 2.35 s after its deadline against a bound of
// 2.3 s, in two runs of the whole suite).
func slowBlock(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	if err := server.Exec(context.Background(), "SELECT count() FROM (SELECT x FROM kill_slow LIMIT 65536)"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("one block of the slow view: %s", took.Round(10*time.Millisecond))
	return max(took, killBlock)
}

// The scenario: predictions in a view that sleeps on every block,
// labels joined to them. When a scrape's deadline passes, every query it
// started is gone from ClickHouse within one second plus one block; the
// background reference profile when query_timeout passes; and every query
// when the exporter stops mid-scrape.
func TestQueriesKilledAtTheirDeadline(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE VIEW IF NOT EXISTS kill_slow AS SELECT now() - 60 AS ts, toString(number) AS request_id, "+
			"toFloat64(number % 10) AS prediction, toFloat64(number) AS x FROM system.numbers WHERE sleepEachRow(0.00002) = 0",
		"CREATE TABLE IF NOT EXISTS kill_labels (request_id String, label Float64, ts DateTime) ENGINE = MergeTree ORDER BY ts",
		"TRUNCATE TABLE kill_labels",
		"INSERT INTO kill_labels SELECT toString(number), number % 10, now() - 30 FROM numbers(1000)",
	); err != nil {
		t.Fatal(err)
	}
	const queryTimeout = 8 * time.Second
	path := writeFile(t, t.TempDir(), "mlmon.yml", fmt.Sprintf(`clickhouse: {addr: [%q], query_timeout: %s}
models:
  - name: slow
    task: regression
    predictions: {table: kill_slow, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: kill_labels, id: request_id, label: label, timestamp: ts}
    features: [{name: x, type: numeric}]
    reference: {offset: 1h}
`, server.Addr(), queryTimeout))
	block := slowBlock(t)
	exp := runExporter(t, exporterOpts{config: path})

	running := func() (scrape, background []string) {
		rows, err := server.Conn().Query(ctx, "SELECT query_id FROM system.processes WHERE query_id LIKE 'mlmon-%'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(id, "-bg-") {
				background = append(background, id)
			} else {
				scrape = append(scrape, id)
			}
		}
		return scrape, background
	}
	// waitGone waits until which() is empty, failing past limit.
	waitGone := func(what string, since time.Time, limit time.Duration, which func() []string) {
		t.Helper()
		for {
			ids := which()
			if len(ids) == 0 {
				t.Logf("%s: gone %s after its deadline", what, time.Since(since).Round(10*time.Millisecond))
				return
			}
			if time.Since(since) > limit {
				t.Fatalf("%s: %v still running %s after its deadline\n%s", what, ids, time.Since(since).Round(10*time.Millisecond), exp.logs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	start := time.Now()
	code, body, took := exp.scrape("4")
	if code != 200 || took > 4*time.Second {
		t.Fatalf("scrape: %d after %s\n%s", code, took, body)
	}
	if got := parseMetrics(t, body); got[`mlmon_scrape_success{model="slow"}`] != 0 {
		t.Errorf("the slow model reports success")
	}
	scrapeDeadline := start.Add(3500 * time.Millisecond) // 4 s less the 500 ms offset
	waitGone("the scrape's queries", scrapeDeadline, time.Second+block, func() []string { s, _ := running(); return s })
	// The reference starts within the scrape (its drift concern), with a
	// deadline of its own query_timeout later.
	waitGone("the background reference", scrapeDeadline.Add(queryTimeout), time.Second+block, func() []string { _, b := running(); return b })
	killed := logsWith(exp.logLines(), map[string]string{"msg": "killed query", "reason": "deadline"})
	if len(killed) == 0 {
		t.Errorf("no kill logged:\n%s", exp.logs)
	}
	for _, l := range killed {
		t.Logf("killed %v (%v)", l["query_id"], l["query"])
	}

	// Stopping mid-scrape: the exporter kills what it runs before it exits.
	go func() {
		// Its answer is cut off by the exit.
		if resp, err := exp.do("GET", "/metrics", nil); err == nil {
			resp.Body.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s, b := running(); len(s)+len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second scrape started no query")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := exp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	select {
	case <-exp.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("the exporter did not exit 5 s after SIGTERM\n%s", exp.logs)
	}
	t.Logf("exited %s after SIGTERM", time.Since(stopped).Round(10*time.Millisecond))
	waitGone("every query after SIGTERM", stopped, time.Second+block, func() []string { s, b := running(); return append(s, b...) })
	if len(logsWith(exp.logLines(), map[string]string{"msg": "killed the queries still running on close"})) == 0 {
		t.Errorf("the exporter did not log killing its queries on exit:\n%s", exp.logs)
	}
}
