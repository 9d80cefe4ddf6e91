package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A reference that takes longer to profile than a scrape may is computed in
// the background: the scrape that started it succeeds without drift metrics
// and counts no error, and a later scrape has them. A reference that cannot
// be computed at all is an error, reported as such.
func TestSlowReferenceServesTheNextScrape(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS pend_src (ts DateTime, request_id String, prediction Float64, x Float64) ENGINE = MergeTree ORDER BY ts",
		fmt.Sprintf("INSERT INTO pend_src SELECT toDateTime(%d) - number, toString(number), 1, number %% 17 FROM numbers(1000)", scrapeNow.Unix()-1),
		// Each read of the view sleeps at least 0.4 s, and profiling the
		// reference reads it twice.
		"CREATE VIEW IF NOT EXISTS pend_slow_ref AS "+strings.Repeat("SELECT x FROM pend_src WHERE sleep(0.4) = 0 UNION ALL ", 1)+
			"SELECT x FROM pend_src WHERE sleep(0.4) = 0",
	); err != nil {
		t.Fatal(err)
	}
	target := loadTarget(t, fmt.Sprintf(`
clickhouse: {addr: [%q], query_timeout: 30s}
models:
  - name: slowref
    task: regression
    predictions: {table: pend_src, timestamp: ts, id: request_id, prediction: prediction}
    features: [{name: x, type: numeric}]
    reference: {table: pend_slow_ref}
  - name: badref
    task: regression
    predictions: {table: pend_src, timestamp: ts, id: request_id, prediction: prediction}
    features: [{name: x, type: numeric}]
    reference: {table: pend_no_such_table}
`, server.Addr()))
	counters := NewCounters()
	first := gather(t, target, counters, 500*time.Millisecond)
	psi := `mlmon_feature_psi{feature="x",model="slowref"}`
	for k, want := range map[string]float64{
		`mlmon_scrape_success{model="slowref"}`:                       1,
		`mlmon_query_errors_total{model="slowref",query="reference"}`: 0,
		`mlmon_scrape_success{model="badref"}`:                        0,
		`mlmon_query_errors_total{model="badref",query="reference"}`:  1,
		`mlmon_predictions{model="slowref",window="current"}`:         1000,
	} {
		if got, ok := first[k]; !ok || got != want {
			t.Errorf("first scrape: %s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if _, ok := first[psi]; ok {
		t.Fatalf("first scrape already has %s: the reference was not slow enough to test anything", psi)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := gather(t, target, counters, 5*time.Second)
		if _, ok := got[psi]; ok {
			if got[`mlmon_query_errors_total{model="slowref",query="reference"}`] != 0 {
				t.Error("the slow reference was counted as a query error")
			}
			if got[`mlmon_scrape_success{model="badref"}`] != 0 {
				t.Error("a reference table that does not exist must keep failing")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reference never arrived: %v", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
