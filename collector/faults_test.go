package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A slow model cannot hold the scrape hostage: the scrape answers within its
// deadline with the slow model's mlmon_scrape_success at 0, the healthy
// model's metrics intact, and no query left running in ClickHouse.
func TestSlowModelDoesNotBlockOthers(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS fault_src (ts DateTime, request_id String, prediction Float64) ENGINE = MergeTree ORDER BY ts",
		fmt.Sprintf("INSERT INTO fault_src SELECT toDateTime(%d) - number, toString(number), number / 10 FROM numbers(500)", scrapeNow.Unix()-1),
		// An endless generator: a query over it is cancelled between blocks,
		// as a real long scan over MergeTree is.
		fmt.Sprintf("CREATE VIEW IF NOT EXISTS fault_slow AS SELECT toDateTime(%d) AS ts, toString(number) AS request_id, "+
			"toFloat64(number) AS prediction FROM system.numbers LIMIT 100000000000", scrapeNow.Unix()-60),
	); err != nil {
		t.Fatal(err)
	}
	target := loadTarget(t, fmt.Sprintf(`
clickhouse: {addr: [%q]}
models:
  - name: fast
    task: regression
    predictions: {table: fault_src, timestamp: ts, id: request_id, prediction: prediction}
  - name: slow
    task: regression
    predictions: {table: fault_slow, timestamp: ts, id: request_id, prediction: prediction}
  - name: missing_table
    task: regression
    predictions: {table: no_such_table, timestamp: ts, id: request_id, prediction: prediction}
`, server.Addr()))
	counters := NewCounters()
	start := time.Now()
	got := gather(t, target, counters, 2*time.Second)
	took := time.Since(start)
	if took > 2500*time.Millisecond {
		t.Errorf("scrape took %s with a 2s deadline", took)
	}
	for k, want := range map[string]float64{
		`mlmon_clickhouse_up{}`:                                              1,
		`mlmon_scrape_success{model="fast"}`:                                 1,
		`mlmon_scrape_success{model="slow"}`:                                 0,
		`mlmon_scrape_success{model="missing_table"}`:                        0,
		`mlmon_predictions{model="fast",window="current"}`:                   500,
		`mlmon_query_errors_total{model="slow",query="operations"}`:          1,
		`mlmon_query_errors_total{model="missing_table",query="operations"}`: 1,
		`mlmon_query_errors_total{model="fast",query="operations"}`:          0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	if _, ok := got[`mlmon_predictions{model="slow",window="current"}`]; ok {
		t.Error("the slow model's count was reported although its query failed")
	}

	// The cancelled query must not keep running on the server.
	deadline := time.Now().Add(time.Second)
	for {
		var running uint64
		if err := server.Conn().QueryRow(ctx, "SELECT count() FROM system.processes WHERE query_id LIKE 'mlmon-%'").Scan(&running); err != nil {
			t.Fatal(err)
		}
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mlmon queries still running in ClickHouse 1s after the scrape ended", running)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A model whose table is missing names the table in its error, and the
// error reaches the counter under the query that failed.
func TestMissingTableError(t *testing.T) {
	target := loadTarget(t, fmt.Sprintf(`
clickhouse: {addr: [%q]}
models:
  - name: ghost
    task: regression
    predictions: {table: ghost_table, timestamp: ts, id: request_id, prediction: prediction}
`, server.Addr()))
	_, err := target.Client.Operations(context.Background(), &target.Config.Models[0], currentWindow(&target.Config.Models[0], scrapeNow), lookbackWindow(&target.Config.Models[0], scrapeNow))
	if err == nil || !strings.Contains(err.Error(), "ghost_table") || !strings.Contains(err.Error(), "query operations") {
		t.Errorf("error should name the query and the table: %v", err)
	}
}
