package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chtest"
)

// An ALTER TABLE … ADD COLUMN on the predictions table in the middle of a
// scrape's performance join: both finish, the scrape within its deadline.
//
// ClickHouse 18.16 queues a reader behind a waiting writer, and a query that
// locked a table once and asks for it again then waits for the ALTER, which
// waits for the query: a deadlock that KILL QUERY cannot end (fixed in 19.4,
// ClickHouse #4535). The join used to read the predictions table twice (the
// window, and its ids for the label side's IN filter), and this test
// deadlocked it with the ALTER sent as soon as the join appeared in
// system.processes (one round in eight on an idle machine). On servers
// before 19.4 the join now reads each table once (chquery.Source.ReadOnce).
// The ALTER comes at several moments after the join started; the test runs
// on a server of its own, since a deadlock would poison a shared one.
func TestAlterDuringScrape(t *testing.T) {
	srv, err := chtest.Start(filepath.Join(t.TempDir(), "ch"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ctx := context.Background()
	if err := srv.Exec(ctx,
		// Reading prediction sleeps 0.5 ms a row: 1.5 s for the 3000 rows
		// (one block), so the ALTER comes while the join reads.
		"CREATE TABLE alter_p (ts DateTime, request_id String, p_raw Float64, "+
			"prediction Float64 ALIAS p_raw + sleepEachRow(0.0005), x Float64) ENGINE = MergeTree ORDER BY ts",
		"INSERT INTO alter_p (ts, request_id, p_raw, x) SELECT now() - 60 - number % 600, toString(number), number % 10, number % 7 FROM numbers(3000)",
		"CREATE TABLE alter_labels (request_id String, label Float64, ts DateTime) ENGINE = MergeTree ORDER BY ts",
		"INSERT INTO alter_labels SELECT toString(number), number % 10, now() - 30 FROM numbers(3000)",
	); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, t.TempDir(), "mlmon.yml", fmt.Sprintf(`clickhouse: {addr: [%q], query_timeout: 30s}
models:
  - name: altered
    task: regression
    predictions: {table: alter_p, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: alter_labels, id: request_id, label: label, timestamp: ts}
    features: [{name: x, type: numeric}]
    reference: {offset: 1h}
`, srv.Addr()))
	exp := runExporter(t, exporterOpts{config: path})

	const timeout = 12 * time.Second
	// The ALTER comes at several moments after the join started: its two
	// reads of the table take their locks at different times.
	for round, after := range []time.Duration{0, 0, 0, 0, 0, 0, 100 * time.Millisecond, 800 * time.Millisecond} {
		var wg sync.WaitGroup
		wg.Add(1)
		var code int
		var body string
		var took time.Duration
		go func() {
			defer wg.Done()
			code, body, took = exp.scrape(fmt.Sprint(timeout.Seconds()))
		}()
		// Wait until the performance join runs, then ALTER.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n uint64
			if err := srv.Conn().QueryRow(ctx, "SELECT count() FROM system.processes WHERE query_id LIKE 'mlmon-%-performance'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the performance join never ran", round)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(after)
		alterCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		start := time.Now()
		alterErr := srv.Conn().Exec(alterCtx, fmt.Sprintf("ALTER TABLE alter_p ADD COLUMN extra%d UInt8", round))
		cancel()
		alterTook := time.Since(start)
		wg.Wait()
		t.Logf("round %d: ALTER %s after the join started took %s (%v), the scrape %s", round, after, alterTook.Round(time.Millisecond), alterErr, took.Round(time.Millisecond))
		if code != 200 || took > timeout {
			t.Errorf("round %d: scrape %d after %s (timeout %s)\n%s", round, code, took, timeout, body)
		}
		if alterErr != nil {
			// What waits for what: the exporter's queries and the ALTER.
			rows, err := srv.Conn().Query(context.Background(), "SELECT query_id, elapsed, is_cancelled, query FROM system.processes WHERE query NOT LIKE '%system.processes%'")
			if err == nil {
				for rows.Next() {
					var id, q string
					var elapsed float64
					var cancelled uint8
					if rows.Scan(&id, &elapsed, &cancelled, &q) == nil {
						t.Logf("  running: %s elapsed %.1fs cancelled %d: %.120s", id, elapsed, cancelled, q)
					}
				}
				rows.Close()
			}
			t.Fatalf("round %d: the ALTER did not finish in 20 s (%v): the join and the ALTER deadlocked", round, alterErr)
		}
		got := parseMetrics(t, body)
		if got[`mlmon_scrape_success{model="altered"}`] != 1 {
			var failed []string
			for _, l := range logsWith(exp.logLines(), map[string]string{"msg": "collect failed"}) {
				failed = append(failed, fmt.Sprint(l["concern"], ": ", l["err"]))
			}
			t.Errorf("round %d: the scrape failed: %s", round, strings.Join(failed, "; "))
		}
	}
}
