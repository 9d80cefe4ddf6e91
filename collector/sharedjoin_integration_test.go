package collector

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// churn and upsell read the same tables with the same columns: a scrape
// joins their current window's labels once, as churn's query, and each of
// them gets every series a scrape of it alone gives.
func TestSharedJoinRunsOnceForModelsThatShareTables(t *testing.T) {
	seed(t)
	yml := fmt.Sprintf(integrationConfig, server.Addr())
	var log bytes.Buffer
	target := loadTargetWith(t, yml, debugLogger(t, &log))
	if j := sharedJoins(target.Config.Models, scrapeNow); j["churn"] == nil || j["churn"] != j["upsell"] || j["intent"] != nil || j["eta"] != nil {
		t.Fatalf("churn and upsell should share one join, and no other model: %v", j)
	}
	gather(t, target, NewCounters(), 60*time.Second) // computes the references
	log.Reset()
	got := gather(t, target, NewCounters(), 60*time.Second)

	joins := map[string]int{}
	for _, m := range regexp.MustCompile(`msg=query model=(\S+) query=performance duration=\S+ read_rows=(\d+)`).FindAllStringSubmatch(log.String(), -1) {
		joins[m[1]]++
	}
	if joins["upsell"] != 0 || joins["churn"] == 0 {
		t.Errorf("the current window's join runs as churn's query only; queries named performance by model: %v", joins)
	}

	for _, name := range []string{"churn", "upsell"} {
		alone := loadTarget(t, onlyModel(t, yml, name))
		gather(t, alone, NewCounters(), 60*time.Second)
		want := gather(t, alone, NewCounters(), 60*time.Second)
		label := fmt.Sprintf("model=%q", name)
		compared := 0
		for k, w := range want {
			if !strings.Contains(k, label) || costSeries(k) {
				continue
			}
			g, ok := got[k]
			switch {
			case !ok:
				t.Errorf("%s: missing from the scrape of every model, alone %v", k, w)
			case math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)):
				t.Errorf("%s = %.15g, alone %.15g", k, g, w)
			}
			compared++
		}
		for k, g := range got {
			if _, ok := want[k]; !ok && strings.Contains(k, label) && !costSeries(k) {
				t.Errorf("%s = %v: not in a scrape of %s alone", k, g, name)
			}
		}
		for _, k := range []string{
			fmt.Sprintf(`mlmon_accuracy_ratio{%s,window="current"}`, label),
			fmt.Sprintf(`mlmon_roc_auc{%s,window="current"}`, label),
			fmt.Sprintf(`mlmon_labeled_predictions{%s}`, label),
		} {
			if _, ok := want[k]; !ok {
				t.Errorf("%s alone lacks %s: the comparison proves little", name, k)
			}
		}
		if compared < 20 {
			t.Errorf("%s: only %d series compared", name, compared)
		}
	}
}

// costSeries are what a scrape cost, which differs between scrapes.
func costSeries(k string) bool {
	return strings.Contains(k, "duration_seconds") || strings.HasPrefix(k, "mlmon_clickhouse_")
}

// onlyModel is the configuration yml with name its one model.
func onlyModel(t *testing.T, yml, name string) string {
	t.Helper()
	head, list, ok := strings.Cut(yml, "models:\n")
	if !ok {
		t.Fatal("no models: in the configuration")
	}
	for _, block := range strings.SplitAfter(list, "\n  - name: ") {
		block = strings.TrimSuffix(block, "\n  - name: ")
		block = strings.TrimPrefix(block, "  - name: ")
		if strings.HasPrefix(block, name+"\n") {
			return head + "models:\n  - name: " + block + "\n"
		}
	}
	t.Fatalf("no model %s in the configuration", name)
	return ""
}

// A shared join of an earlier scrape that still runs (cut off at its
// deadline, stopped by ClickHouse only at the end of a block) runs as the
// first model's query: the next scrape skips every model that shares it,
// not only the first, rather than start the join again beside it.
func TestSharedJoinStillRunningSkipsEveryPartner(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS sj_slow_preds", "DROP TABLE IF EXISTS sj_slow_labels",
		"CREATE TABLE sj_slow_preds (ts DateTime, request_id String, model String, prediction String) ENGINE = MergeTree ORDER BY (model, ts)",
		fmt.Sprintf("INSERT INTO sj_slow_preds SELECT toDateTime(%d) - 60, toString(number), ['first', 'second'][number %% 2 + 1], '1' FROM numbers(100)", scrapeNow.Unix()),
		// sleepEachRow(0.00004) over a block of 65536 rows: 2.6 s a block.
		fmt.Sprintf("CREATE VIEW sj_slow_labels AS SELECT toDateTime(%d) - 30 AS ts, toString(number) AS request_id, '1' AS label "+
			"FROM system.numbers WHERE sleepEachRow(0.00004) = 0", scrapeNow.Unix()),
	); err != nil {
		t.Fatal(err)
	}
	model := `  - name: %s
    task: binary_classification
    positive_class: "1"
    predictions: {table: sj_slow_preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction}
    ground_truth: {table: sj_slow_labels, id: request_id, label: label, timestamp: ts}
`
	yml := fmt.Sprintf("clickhouse: {addr: [%q], query_timeout: 10s}\nmodels:\n", server.Addr()) +
		fmt.Sprintf(model, "first") + fmt.Sprintf(model, "second")
	target := loadTarget(t, yml)
	if j := sharedJoins(target.Config.Models, scrapeNow); j["second"] == nil || j["second"].first.Name != "first" {
		t.Fatalf("the two models should share first's join: %v", j)
	}
	counters := NewCounters()
	got := gather(t, target, counters, time.Second)
	for _, m := range []string{"first", "second"} {
		if got[fmt.Sprintf(`mlmon_scrape_success{model=%q}`, m)] != 0 {
			t.Fatalf("model %s: the join cannot end within the scrape, yet it succeeded", m)
		}
	}
	if target.Client.Running("first") == 0 {
		t.Fatal("the cut-off join no longer runs: the next scrape would prove nothing")
	}
	got = gather(t, target, counters, time.Second)
	for _, m := range []string{"first", "second"} {
		if n := got[fmt.Sprintf(`mlmon_skipped_collections_total{model=%q,reason="queries_still_running"}`, m)]; n != 1 {
			t.Errorf("model %s: %v collections skipped, want 1: its shared join still runs", m, n)
		}
	}
}
