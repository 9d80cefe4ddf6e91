package collector

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// With max_parallel_queries: 1, models are collected one at a time: in the
// client's log of a warm scrape each model's queries come together, not
// interleaved with another model's, which would mean several models had
// started and held their results at once. (A join that models share is
// the one exception: it runs in whichever model asks first.)
func TestModelsCollectedMaxParallelAtATime(t *testing.T) {
	seed(t)
	yml := strings.Replace(fmt.Sprintf(integrationConfig, server.Addr()), "  query_timeout: 20s\n", "  query_timeout: 20s\n  max_parallel_queries: 1\n", 1)
	var log bytes.Buffer
	target := loadTargetWith(t, yml, debugLogger(t, &log))
	cfg := target.Config
	if cfg.ClickHouse.MaxParallelQueries != 1 || len(cfg.Models) < 3 {
		t.Fatalf("the test wants one query at a time and three models: %d, %d", cfg.ClickHouse.MaxParallelQueries, len(cfg.Models))
	}
	gather(t, target, NewCounters(), 60*time.Second) // computes the references
	log.Reset()
	got := gather(t, target, NewCounters(), 60*time.Second)
	for _, m := range cfg.Models {
		if got[fmt.Sprintf(`mlmon_scrape_success{model=%q}`, m.Name)] != 1 {
			t.Fatalf("%s: the warm scrape failed", m.Name)
		}
	}

	// A join that models share runs as the first one's query, in whichever
	// of them asks first (sharedjoin.go): its queries are left out.
	shared := sharedJoins(cfg.Models, scrapeNow)
	var order []string
	for _, m := range regexp.MustCompile(`msg=query model=(\S+) query=(\S+)`).FindAllStringSubmatch(log.String(), -1) {
		if m[2] == queryPerformance && shared[m[1]] != nil {
			continue
		}
		order = append(order, m[1])
	}
	done := map[string]bool{}
	for i, model := range order {
		if done[model] {
			t.Fatalf("%s's queries resumed after another model's: %v", model, order)
		}
		if i > 0 && order[i-1] != model {
			done[order[i-1]] = true
		}
	}
	if len(done) < len(cfg.Models)-1 {
		t.Fatalf("the log names %d models' queries, want %d: %v", len(done)+1, len(cfg.Models), order)
	}
}
