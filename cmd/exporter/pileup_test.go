package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pileUpDuration is how long TestNoPileUp scrapes: 60 s by default, in CI
// too (sixty deadlines, each leaving queries behind to be killed);
// MLMON_PILEUP_DURATION (a Go duration) for other lengths.
func pileUpDuration(t *testing.T) time.Duration {
	if v := os.Getenv("MLMON_PILEUP_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("MLMON_PILEUP_DURATION: %v", err)
		}
		return d
	}
	return 60 * time.Second
}

var scrapeTag = regexp.MustCompile(`^mlmon-[0-9a-f]+-\d+-(s\d+)-`)

// Scraped every second against a ClickHouse whose every query takes far
// longer than the scrape's 1 s deadline (2.6 s per block, killed only
// between blocks): a model whose queries from an earlier scrape still run
// starts no more, so system.processes never holds more than one scrape's
// queries per model, and those scrapes say so (mlmon_scrape_success 0 and
// mlmon_skipped_collections_total).
func TestNoPileUp(t *testing.T) {
	ctx := context.Background()
	for _, v := range []string{"pile_a", "pile_b"} {
		// sleepEachRow(0.00004) over a block of 65536 rows: 2.6 s a block.
		if err := server.Exec(ctx, "CREATE VIEW IF NOT EXISTS "+v+" AS SELECT now() - 60 AS ts, toString(number) AS request_id, "+
			"toFloat64(number % 10) AS prediction, toFloat64(number) AS x FROM system.numbers WHERE sleepEachRow(0.00004) = 0"); err != nil {
			t.Fatal(err)
		}
	}
	path := writeFile(t, t.TempDir(), "mlmon.yml", fmt.Sprintf("clickhouse: {addr: [%q], query_timeout: 10s}\nmodels:\n", server.Addr())+
		fmt.Sprintf(faultModel, "a", "pile_a")+fmt.Sprintf(faultModel, "b", "pile_b"))
	exp := runExporter(t, exporterOpts{config: path})

	// scrapesPerModel maps each model to the scrapes (s<N> of the
	// query_id) whose queries ClickHouse runs now; background reference
	// profiles are not a scrape's.
	scrapesPerModel := func() map[string]map[string]bool {
		rows, err := server.Conn().Query(ctx, "SELECT query_id, query FROM system.processes WHERE query_id LIKE 'mlmon-%'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]map[string]bool{}
		for rows.Next() {
			var id, query string
			if err := rows.Scan(&id, &query); err != nil {
				t.Fatal(err)
			}
			m := scrapeTag.FindStringSubmatch(id)
			if m == nil {
				continue // -bg-: the reference
			}
			for model, view := range map[string]string{"a": "pile_a", "b": "pile_b"} {
				if strings.Contains(query, view) {
					if out[model] == nil {
						out[model] = map[string]bool{}
					}
					out[model][m[1]] = true
				}
			}
		}
		return out
	}

	stop := make(chan struct{})
	sampled := make(chan int)
	go func() {
		n := 0
		defer func() { sampled <- n }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			n++
			for model, scrapes := range scrapesPerModel() {
				if len(scrapes) > 1 {
					t.Errorf("model %s: queries of %d scrapes run at once: %v", model, len(scrapes), scrapes)
				}
			}
		}
	}()

	end := time.Now().Add(pileUpDuration(t))
	var scrapes, skipped, late int
	var last map[string]float64
	for time.Now().Before(end) {
		next := time.Now().Add(time.Second)
		code, body, took := exp.scrape("1.5")
		if code != 200 {
			t.Fatalf("scrape answered %d\n%s", code, body)
		}
		if took > 1500*time.Millisecond {
			late++
		}
		scrapes++
		got := parseMetrics(t, body)
		for _, m := range []string{"a", "b"} {
			if got[`mlmon_scrape_success{model="`+m+`"}`] != 0 {
				t.Errorf("model %s reports success", m)
			}
		}
		last = got
		time.Sleep(time.Until(next))
	}
	close(stop)
	samples := <-sampled
	for _, m := range []string{"a", "b"} {
		n := last[`mlmon_skipped_collections_total{model="`+m+`",reason="queries_still_running"}`]
		skipped += int(n)
		if n == 0 {
			t.Errorf("model %s: no collection skipped in %d scrapes: the test did not pile up", m, scrapes)
		}
	}
	if late > 0 {
		t.Errorf("%d of %d scrapes answered after their 1.5 s timeout", late, scrapes)
	}
	if n := len(logsWith(exp.logLines(), map[string]string{"msg": "collection skipped: queries of an earlier scrape still run"})); n != skipped {
		t.Errorf("%d skips logged, %d counted", n, skipped)
	}
	t.Logf("%d scrapes, %d model collections skipped, system.processes sampled %d times", scrapes, skipped, samples)
}
