package collector

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// A sampled model reads about its share of the rows, through the SAMPLE
// clause where the table has a sampling key and a hash of the id where it has
// not, and its statistics stay close to those of the whole window.
func TestSampling(t *testing.T) {
	ctx := context.Background()
	from := scrapeNow.Add(-time.Hour).Unix()
	// 20k predictions in the current hour: x ~ N(0, 1) by Box-Muller from
	// hashes, a class right 80% of the time, every prediction labeled.
	rows := fmt.Sprintf(`SELECT toDateTime(%d + number %% 3600) AS ts, number AS n, concat('s-', toString(number)) AS request_id,
		if(cityHash64(number, 1) %% 10 < 8, 'a', 'b') AS prediction,
		sqrt(-2 * log((cityHash64(number, 2) %% 1000000 + 1) / 1000001)) * cos(2 * pi() * (cityHash64(number, 3) %% 1000000) / 1000000) AS x
		FROM numbers(20000)`, from)
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS samp_hash (ts DateTime, n UInt64, request_id String, prediction String, x Float64) ENGINE = MergeTree ORDER BY ts",
		"CREATE TABLE IF NOT EXISTS samp_key (ts DateTime, n UInt64, request_id String, prediction String, x Float64) ENGINE = MergeTree ORDER BY (ts, intHash32(n)) SAMPLE BY intHash32(n)",
		"CREATE TABLE IF NOT EXISTS samp_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
		"INSERT INTO samp_hash "+rows,
		"INSERT INTO samp_key "+rows,
		fmt.Sprintf("INSERT INTO samp_labels SELECT concat('s-', toString(number)), 'a', toDateTime(%d) FROM numbers(20000)", from+3600),
	); err != nil {
		t.Fatal(err)
	}
	model := func(name, table, sample string) string {
		return fmt.Sprintf(`  - name: %s
    task: multiclass_classification
    predictions: {table: %s, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: samp_labels, id: request_id, label: label, timestamp: ts}
    features: [{name: x, type: numeric}]
    reference: {offset: 1h}
    sample: %s
`, name, table, sample)
	}
	target := loadTarget(t, fmt.Sprintf("clickhouse: {addr: [%q]}\ndefaults: {min_samples: 10}\nmodels:\n", server.Addr())+
		model("full", "samp_hash", "1")+model("hash", "samp_hash", "0.5")+model("clause", "samp_key", "0.5"))
	got := gather(t, target, NewCounters(), 30*time.Second)

	// key renders a series as gather does, labels sorted by name.
	key := func(metric, model string, labels string) string {
		if labels == "" {
			return fmt.Sprintf(`%s{model=%q}`, metric, model)
		}
		before, after, _ := strings.Cut(labels, "|")
		return fmt.Sprintf(`%s{%smodel=%q%s}`, metric, before, model, after)
	}
	full := got[key("mlmon_labeled_predictions", "full", "")]
	if full != 20000 {
		t.Fatalf("unsampled model labeled %v predictions, want 20000 (scrape: %v)", full, got)
	}
	for _, m := range []string{"hash", "clause"} {
		if got[key("mlmon_scrape_success", m, "")] != 1 || got[key("mlmon_sample_ratio", m, "")] != 0.5 {
			t.Errorf("%s: success %v, sample_ratio %v", m, got[key("mlmon_scrape_success", m, "")], got[key("mlmon_sample_ratio", m, "")])
		}
		// Binomial(20000, 0.5) has a standard deviation of 71: ±1000 is
		// 14 sigma, so only a broken sample lands outside.
		if n := got[key("mlmon_labeled_predictions", m, "")]; math.Abs(n-10000) > 1000 {
			t.Errorf("%s: sampled %v labeled predictions, want about 10000", m, n)
		}
		if n := got[key("mlmon_feature_samples", m, `feature="x",|,window="current"`)]; math.Abs(n-10000) > 1000 {
			t.Errorf("%s: sampled %v feature values, want about 10000", m, n)
		}
		// The sample keeps each prediction with its own label: accuracy
		// (0.8) and coverage (1) stay what they are on the whole.
		if a, f := got[key("mlmon_accuracy_ratio", m, `|,window="current"`)], got[key("mlmon_accuracy_ratio", "full", `|,window="current"`)]; math.Abs(a-f) > 0.03 {
			t.Errorf("%s: accuracy %v on the sample, %v on the whole", m, a, f)
		}
		if c := got[key("mlmon_label_coverage_ratio", m, "")]; c != 1 {
			t.Errorf("%s: label coverage %v, want 1: a sampled prediction lost its label", m, c)
		}
	}
	for i, wantClause := range map[int]bool{1: false, 2: true} {
		s, err := target.Client.Sampling(ctx, &target.Config.Models[i])
		if err != nil || s.Clause != wantClause {
			t.Errorf("%s: sampling %+v, %v; want the SAMPLE clause %v", target.Config.Models[i].Name, s, err, wantClause)
		}
	}
	if a := got[key("mlmon_accuracy_ratio", "full", `|,window="current"`)]; math.Abs(a-0.8) > 0.02 {
		t.Errorf("accuracy of the whole %v, want about 0.8", a)
	}
	if got[key("mlmon_sample_ratio", "full", "")] != 1 {
		t.Error("an unsampled model must report sample ratio 1")
	}
}
