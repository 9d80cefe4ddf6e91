package collector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
)

// Concurrent scrapes share one computation: eight requests arriving while a
// slow scrape runs cost ClickHouse the queries of one scrape, and all eight
// get the full answer.
func TestConcurrentScrapesCollapse(t *testing.T) {
	ctx := context.Background()
	// A view that sleeps makes the scrape slow enough for the requests to
	// overlap deterministically.
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS collapse_src (ts DateTime, request_id String, prediction Float64) ENGINE = MergeTree ORDER BY ts",
		fmt.Sprintf("INSERT INTO collapse_src SELECT toDateTime(%d) - number, toString(number), 1.5 FROM numbers(100)", scrapeNow.Unix()-1),
		"CREATE VIEW IF NOT EXISTS collapse_slow AS SELECT * FROM collapse_src WHERE sleep(0.5) = 0",
	); err != nil {
		t.Fatal(err)
	}
	target := loadTarget(t, fmt.Sprintf(`
clickhouse: {addr: [%q]}
models:
  - name: slow
    task: regression
    predictions: {table: collapse_slow, timestamp: ts, id: request_id, prediction: prediction}
`, server.Addr()))
	h := NewHandler(promslog.NewNopLogger(), 0, nil)
	h.SetTarget(target)
	srv := httptest.NewServer(h)
	defer srv.Close()

	scrapeOnce := func() string {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	before := target.Client.Queries()
	if body := scrapeOnce(); !strings.Contains(body, `mlmon_scrape_success{model="slow"} 1`) {
		t.Fatalf("single scrape failed:\n%s", body)
	}
	perScrape := target.Client.Queries() - before

	before = target.Client.Queries()
	start := time.Now()
	var wg sync.WaitGroup
	bodies := make([]string, 8)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = scrapeOnce()
		}()
	}
	wg.Wait()
	if got := target.Client.Queries() - before; got > perScrape {
		t.Errorf("8 concurrent scrapes ran %d queries; one scrape runs %d (took %s)", got, perScrape, time.Since(start))
	}
	for i, b := range bodies {
		if !strings.Contains(b, `mlmon_scrape_success{model="slow"} 1`) {
			t.Errorf("request %d did not get the scrape:\n%s", i, b)
		}
	}
}
