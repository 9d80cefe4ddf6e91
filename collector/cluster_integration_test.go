package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/freeport"
)

// clusterExtraModels adds to integrationConfig a reference of kind table, a
// model sampled by the hash of its ids, one sampled by the SAMPLE clause,
// one whose current drift window is read from pre-aggregated intervals, and
// two regression models told apart only by their model column, which share
// one performance join; two of them with segments (one with per-segment
// feature drift).
const clusterExtraModels = `  - name: eta_train
    task: regression
    predictions: {table: reg_preds, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: reg_labels, id: request_id, label: label, timestamp: ts}
    features: [{name: latency_ms, type: numeric}]
    reference: {table: reg_preds}
    segments: [{column: latency_ms, max_values: 3}]
  - name: eta_sampled
    task: regression
    predictions: {table: reg_preds, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: reg_labels, id: request_id, label: label, timestamp: ts}
    reference: {offset: 24h}
    sample: 0.5
  - name: keyed
    task: multiclass_classification
    predictions: {table: samp_key, timestamp: ts, id: request_id, prediction: prediction}
    ground_truth: {table: samp_labels, id: request_id, label: label, timestamp: ts}
    features: [{name: x, type: numeric}]
    reference: {offset: 1h}
    sample: 0.5
    min_samples: 10
    segments: [{column: prediction, max_values: 1, feature_drift: true}, {name: row, column: n, max_values: 3}]
    scores: {a: pa, b: pb}
  - name: fraud
    task: multiclass_classification
    predictions: {table: pa_preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction}
    features:
      - {name: x_cont, type: numeric}
      - {name: x_ties, type: numeric}
      - {name: x_nulls, type: numeric}
      - {name: cat, type: categorical}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-02T00:00:00Z}
    bins: 8
    max_categories: 3
    preaggregated: {table: pa_aggregates, interval: 1m, operations: true}
  - name: car
    task: regression
    predictions: {table: fleet_preds, timestamp: ts, id: request_id, model_column: fleet, prediction: prediction}
    ground_truth: {table: fleet_labels, id: request_id, label: label, timestamp: ts}
    reference: {offset: 1h}
    min_samples: 10
  - name: bike
    task: regression
    predictions: {table: fleet_preds, timestamp: ts, id: request_id, model_column: fleet, prediction: prediction}
    ground_truth: {table: fleet_labels, id: request_id, label: label, timestamp: ts}
    reference: {offset: 1h}
    min_samples: 10
`

// seedClusterExtras writes the extra models' rows on srv, in db. Every
// window holds fewer than 8192 rows, where ClickHouse's quantiles are exact:
// above that its reservoir keeps a sample that depends on the order rows
// arrive in, on one server as on several.
func seedClusterExtras(t *testing.T, srv *chtest.Server, db string) {
	t.Helper()
	from := scrapeNow.Add(-2 * time.Hour).Unix()
	stmts := []string{
		"CREATE TABLE IF NOT EXISTS samp_key (ts DateTime, n UInt64, request_id String, prediction String, x Float64, pa Float64, pb Float64) ENGINE = MergeTree ORDER BY (ts, intHash32(n)) SAMPLE BY intHash32(n)",
		"CREATE TABLE IF NOT EXISTS samp_labels (request_id String, label String, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
		"CREATE TABLE IF NOT EXISTS fleet_preds (ts DateTime, request_id String, fleet String, prediction Float64) ENGINE = MergeTree ORDER BY (fleet, ts)",
		"CREATE TABLE IF NOT EXISTS fleet_labels (request_id String, label Float64, ts DateTime) ENGINE = MergeTree ORDER BY request_id",
	}
	stmts = append(stmts, preaggSchema...)
	stmts = append(stmts, fmt.Sprintf(`INSERT INTO samp_key SELECT toDateTime(%d + number %% 7200), number, concat('k-', toString(number)),
		if(cityHash64(number, 1) %% 10 < 7, 'a', 'b'), (cityHash64(number, 2) %% 1000) / 100 + intDiv(number, 3600),
		(cityHash64(number, 5) %% 1000) / 1000 AS pa, 1 - pa FROM numbers(6000)`, from),
		fmt.Sprintf("INSERT INTO samp_labels SELECT concat('k-', toString(number)), if(cityHash64(number, 4) %% 10 < 8, 'a', 'b'), toDateTime(%d) FROM numbers(5000)", from+7200),
		// Two fleets in one table, a third of the rows bikes; labels for
		// most, and a later correction for some (the join keeps the newest).
		fmt.Sprintf(`INSERT INTO fleet_preds SELECT toDateTime(%d + number %% 7200), concat('f-', toString(number)),
		if(number %% 3 = 0, 'bike', 'car'), (cityHash64(number, 11) %% 1000) / 10 FROM numbers(6000)`, from),
		fmt.Sprintf(`INSERT INTO fleet_labels SELECT concat('f-', toString(number)),
		(cityHash64(number, 11) %% 1000) / 10 + (cityHash64(number, 12) %% 200) / 10 - 10, toDateTime(%d) FROM numbers(5000)`, from+7200),
		fmt.Sprintf(`INSERT INTO fleet_labels SELECT concat('f-', toString(number * 7)), (cityHash64(number, 13) %% 1000) / 10,
		toDateTime(%d) FROM numbers(500)`, from+7260),
		// The pre-aggregation test's rows, fewer of them.
		strings.ReplaceAll(preaggSeed[0], "20000", "6000"),
		strings.ReplaceAll(preaggSeed[1], "6000", "2000"))
	ctx := context.Background()
	for _, s := range stmts {
		if err := srv.Exec(ctx, inDatabase(s, db, "")); err != nil {
			t.Fatal(err)
		}
	}
}

var clusterTableRE = regexp.MustCompile(`\b(preds|labels|reg_preds|reg_labels|samp_key|samp_labels|fleet_preds|fleet_labels|pa_preds|pa_aggregates|pa_numeric|pa_categorical)\b`)

// inDatabase qualifies the test's table names in stmt with db and suffix.
func inDatabase(stmt, db, suffix string) string {
	return clusterTableRE.ReplaceAllStringFunc(stmt, func(name string) string {
		if strings.HasPrefix(name, "pa_numeric") || strings.HasPrefix(name, "pa_categorical") {
			return db + "." + name
		}
		return db + "." + name + suffix
	})
}

// clusterLayout is one way of spreading the same rows over a cluster.
type clusterLayout struct {
	db, cluster string
	shards      [][]int // the cluster's shards, as server indexes
	// labelsKey shards the ground-truth tables; the predictions tables are
	// always sharded by cityHash64(request_id).
	labelsKey string
	want      chquery.JoinStrategy
}

const predsKey = "cityHash64(request_id)"

// build creates the layout's local and Distributed tables on every server
// of the cluster and copies the rows of single into the local tables, each
// row on the shard its sharding key names (key % shards, as a Distributed
// insert places it), to every replica of that shard.
func (l clusterLayout) build(t *testing.T, servers []*chtest.Server, single *chtest.Server) {
	t.Helper()
	ctx := context.Background()
	// Every table but the ground truth is sharded by the predictions' key.
	keys := map[string]string{"labels": l.labelsKey, "reg_labels": l.labelsKey, "samp_labels": l.labelsKey, "fleet_labels": l.labelsKey}
	keyOf := func(table string) string {
		if k, ok := keys[table]; ok {
			return k
		}
		return predsKey
	}
	tables := []string{"preds", "labels", "reg_preds", "reg_labels", "samp_key", "samp_labels", "fleet_preds", "fleet_labels", "pa_preds", "pa_aggregates"}
	for s, replicas := range l.shards {
		for _, i := range replicas {
			srv := servers[i]
			if err := srv.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+l.db); err != nil {
				t.Fatal(err)
			}
			for _, table := range tables {
				var create string
				if err := single.Conn().QueryRow(ctx, "SHOW CREATE TABLE default."+table).Scan(&create); err != nil {
					t.Fatal(err)
				}
				create = strings.Replace(create, "default."+table+" ", l.db+"."+table+"_local ", 1)
				key := keyOf(table)
				dist := fmt.Sprintf("CREATE TABLE %[1]s.%[2]s AS %[1]s.%[2]s_local ENGINE = Distributed(%[3]s, %[1]s, %[2]s_local, %[4]s)", l.db, table, l.cluster, key)
				if table == "pa_aggregates" {
					dist = fmt.Sprintf("CREATE TABLE %[1]s.%[2]s AS %[1]s.%[2]s_local ENGINE = Distributed(%[3]s, %[1]s, %[2]s_local)", l.db, table, l.cluster)
				}
				if err := srv.Exec(ctx, create, dist); err != nil {
					t.Fatal(err)
				}
			}
			// Each shard aggregates its own predictions, as the views of
			// deploy/clickhouse/cluster.sql do.
			for _, view := range preaggSchema[2:] {
				if err := srv.Exec(ctx, inDatabase(view, l.db, "_local")); err != nil {
					t.Fatal(err)
				}
			}
			for _, table := range tables {
				if table == "pa_aggregates" {
					continue // filled by the views
				}
				key := keyOf(table)
				copyRows := fmt.Sprintf("INSERT INTO %s.%s_local SELECT * FROM remote('%s', default, %s) WHERE %s %% %d = %d",
					l.db, table, single.Addr(), table, key, len(l.shards), s)
				if err := srv.Exec(ctx, copyRows); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func (l clusterLayout) config(addr, forced string) string {
	yml := fmt.Sprintf(integrationConfig, addr) + clusterExtraModels
	yml = strings.Replace(yml, "  query_timeout: 20s\n", "  query_timeout: 20s\n  database: "+l.db+"\n", 1)
	if forced != "" {
		yml = strings.ReplaceAll(yml, "ground_truth: {table:", "ground_truth: {distributed_join: "+forced+", table:")
	}
	return yml
}

// The same rows on one server and on Distributed tables over a sharded
// cluster — co-located, sharded apart, with a replicated shard, and with
// each join strategy forced — give the same value for every series.
func TestClusterScrapeMatchesOneServer(t *testing.T) {
	// Servers 0–2 form the clusters; server 3 is the single server.
	servers, err := chtest.StartCluster(t.TempDir(), 4, chtest.Clusters{
		"two":   {{0}, {1}},
		"repl":  {{0}, {1, 2}},
		"spare": {{0}, {1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer chtest.StopAll(servers)
	single := servers[3]
	seedInto(t, single)
	seedClusterExtras(t, single, "default")

	singleTarget := loadTarget(t, clusterLayout{db: "default"}.config(single.Addr(), ""))
	want := gather(t, singleTarget, NewCounters(), 60*time.Second)
	assertDeclared(t, singleTarget.Config, want)
	for _, k := range []string{
		`mlmon_accuracy_ratio{model="churn",window="current"}`, `mlmon_roc_auc{model="churn",window="reference"}`,
		`mlmon_f1_score{average="macro",model="intent",window="current"}`, `mlmon_rmse{model="eta",window="current"}`,
		`mlmon_mae{model="eta_sampled",window="current"}`, `mlmon_feature_psi{feature="latency_ms",model="eta_train"}`,
		`mlmon_accuracy_ratio{model="keyed",window="current"}`, `mlmon_feature_psi{feature="cat",model="fraud"}`,
		`mlmon_preaggregated_interval_seconds{model="fraud"}`, `mlmon_estimated_accuracy_ratio{model="churn"}`,
		`mlmon_predictions{model="fraud",window="current"}`, `mlmon_last_prediction_timestamp_seconds{model="fraud"}`,
		`mlmon_roc_auc{model="keyed",window="current"}`,
		`mlmon_rmse{model="car",window="current"}`, `mlmon_r2{model="bike",window="current"}`,
	} {
		if _, ok := want[k]; !ok {
			t.Fatalf("the single server's scrape lacks %s: the comparison would prove little", k)
		}
	}
	// car and bike must share one join, or the comparison below would not
	// run the shared regression join on the cluster.
	if j := sharedJoins(singleTarget.Config.Models, scrapeNow); j["car"] == nil || j["car"] != j["bike"] {
		t.Fatalf("car and bike do not share a performance join: %v", j)
	}
	// A later scrape has the segments' performance too (the first computes
	// the reference, whose segment values the joins need).
	settled := `mlmon_segment_accuracy_ratio{model="keyed",segment="prediction",segment_value="a",window="reference"}`
	wantSegments := gatherSettled(t, singleTarget, settled)
	for _, k := range []string{
		`mlmon_segment_accuracy_ratio{model="keyed",segment="prediction",segment_value="a",window="current"}`,
		`mlmon_segment_predictions{model="keyed",segment="row",segment_value="__other__",window="reference"}`,
		`mlmon_segment_mae{model="eta_train",segment="latency_ms",segment_value="__other__",window="current"}`,
		`mlmon_segment_prediction_psi{model="keyed",segment="prediction",segment_value="__other__"}`,
		`mlmon_segment_feature_psi{feature="x",model="keyed",segment="prediction",segment_value="a"}`,
		`mlmon_segment_feature_psi{feature="x",model="keyed",segment="prediction",segment_value="__other__"}`,
		`mlmon_estimated_accuracy_ratio{model="keyed"}`, `mlmon_roc_auc{model="keyed",window="reference"}`,
		// The multiclass estimate per segment value (scores:).
		`mlmon_segment_estimated_accuracy_ratio{model="keyed",segment="prediction",segment_value="a"}`,
		`mlmon_segment_estimated_f1_score{average="macro",model="keyed",segment="row",segment_value="__other__"}`,
	} {
		if _, ok := wantSegments[k]; !ok {
			t.Fatalf("the single server's second scrape lacks %s: the comparison would prove little", k)
		}
	}

	layouts := []clusterLayout{
		{db: "colo", cluster: "two", shards: [][]int{{0}, {1}}, labelsKey: predsKey, want: chquery.JoinLocal},
		// 18.16 cannot filter the label side by the window's ids (a query
		// there must not read the predictions twice), so labels sharded
		// apart are joined on the initiator rather than shipped.
		{db: "apart", cluster: "two", shards: [][]int{{0}, {1}}, labelsKey: "cityHash64(toString(label), ts)", want: chquery.JoinInitiator},
		{db: "repl", cluster: "repl", shards: [][]int{{0}, {1, 2}}, labelsKey: predsKey, want: chquery.JoinLocal},
	}
	for _, l := range layouts {
		l.build(t, servers, single)
	}
	for _, l := range layouts {
		// Auto, then every strategy that auto did not choose but may.
		forcings := []string{""}
		for _, s := range []chquery.JoinStrategy{chquery.JoinGlobal, chquery.JoinInitiator} {
			if s != l.want {
				forcings = append(forcings, s.String())
			}
		}
		for _, forced := range forcings {
			t.Run(l.db+"/"+map[string]string{"": "auto"}[forced]+forced, func(t *testing.T) {
				target := loadTarget(t, l.config(servers[0].Addr(), forced))
				strategy := l.want
				if forced == config.JoinInitiator {
					strategy = chquery.JoinInitiator
				} else if forced == config.JoinGlobal {
					strategy = chquery.JoinGlobal
				}
				for _, m := range target.Config.Models {
					if m.GroundTruth == nil {
						continue
					}
					got, err := target.Client.Join(context.Background(), &m, "test")
					if err != nil || got.Strategy != strategy {
						t.Errorf("model %s joins %v (%v), want %v", m.Name, got, err, strategy)
					}
				}
				compareScrapes(t, gather(t, target, NewCounters(), 60*time.Second), want)
				compareScrapes(t, gatherSettled(t, target, settled), wantSegments)
			})
		}
		// The counts that decide the label side's filter on current
		// releases (chquery.Client.FilterLabels), through the Distributed
		// tables, are one server's.
		t.Run(l.db+"/label volume", func(t *testing.T) {
			ctx := context.Background()
			target := loadTarget(t, l.config(servers[0].Addr(), ""))
			for _, m := range singleTarget.Config.Models {
				if m.GroundTruth == nil {
					continue
				}
				src := chquery.Source{Window: performanceWindow(&m, scrapeNow)}
				one, err := singleTarget.Client.LabelVolume(ctx, &m, src, "test")
				if err != nil {
					t.Fatal(err)
				}
				dm := target.Config.Models[slices.IndexFunc(target.Config.Models, func(d config.Model) bool { return d.Name == m.Name })]
				got, err := target.Client.LabelVolume(ctx, &dm, src, "test")
				if err != nil || got != one {
					t.Errorf("model %s: %+v (%v) through Distributed tables, %+v on one server", m.Name, got, err, one)
				}
				if one.Predictions == 0 || one.Labels == 0 {
					t.Errorf("model %s: %+v: an empty side proves little", m.Name, one)
				}
			}
		})
	}

	colo, repl := layouts[0], layouts[2]
	// Faults, each leaving the cluster as the next one needs it.
	t.Run("addresses fail over", func(t *testing.T) {
		dead, err := freeport.Addr() // nothing listens there
		if err != nil {
			t.Fatal(err)
		}
		yml := strings.Replace(colo.config(dead, ""), fmt.Sprintf("[%q]", dead), fmt.Sprintf("[%q, %q]", dead, servers[0].Addr()), 1)
		compareScrapes(t, gather(t, loadTarget(t, yml), NewCounters(), 60*time.Second), want)
	})
	t.Run("local table missing on a shard", func(t *testing.T) {
		ctx := context.Background()
		if err := servers[1].Exec(ctx, "RENAME TABLE colo.reg_preds_local TO colo.reg_preds_aside"); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := servers[1].Exec(ctx, "RENAME TABLE colo.reg_preds_aside TO colo.reg_preds_local"); err != nil {
				t.Fatal(err)
			}
		}()
		var log bytes.Buffer
		got := gatherLogged(t, loadTarget(t, colo.config(servers[0].Addr(), "")), &log)
		for _, m := range []string{"eta", "eta_train", "eta_sampled"} {
			if v := got[fmt.Sprintf(`mlmon_scrape_success{model=%q}`, m)]; v != 0 {
				t.Errorf("model %s reads the broken table, yet mlmon_scrape_success = %v", m, v)
			}
		}
		for _, m := range []string{"churn", "intent", "keyed", "fraud"} {
			if v := got[fmt.Sprintf(`mlmon_scrape_success{model=%q}`, m)]; v != 1 {
				t.Errorf("model %s does not read the broken table, yet mlmon_scrape_success = %v", m, v)
			}
		}
		if v := got[`mlmon_query_errors_total{model="eta",query="operations"}`]; v != 1 {
			t.Errorf("eta's operations query failed, yet its error counter is %v", v)
		}
		for _, s := range []string{"colo.reg_preds_local", servers[1].Addr(), "cluster two"} {
			if !strings.Contains(log.String(), s) {
				t.Errorf("the log does not name %q:\n%s", s, log.String())
			}
		}
	})
	t.Run("schemas differ between shards", func(t *testing.T) {
		ctx := context.Background()
		if err := servers[1].Exec(ctx, "ALTER TABLE colo.samp_key_local DROP COLUMN x"); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		got := gatherLogged(t, loadTarget(t, colo.config(servers[0].Addr(), "")), &log)
		if v := got[`mlmon_scrape_success{model="keyed"}`]; v != 0 {
			t.Errorf("model keyed reads a column one shard lacks, yet mlmon_scrape_success = %v", v)
		}
		// The reference profile is the first query to read the column.
		if v := got[`mlmon_query_errors_total{model="keyed",query="reference"}`]; v != 1 {
			t.Errorf("keyed's reference query failed, yet its error counter is %v", v)
		}
		for _, m := range []string{"churn", "intent", "eta", "fraud"} {
			if v := got[fmt.Sprintf(`mlmon_scrape_success{model=%q}`, m)]; v != 1 {
				t.Errorf("model %s does not read the column, yet mlmon_scrape_success = %v", m, v)
			}
		}
		for _, s := range []string{servers[1].Addr(), "cluster two", "colo.samp_key_local"} {
			if !strings.Contains(log.String(), s) {
				t.Errorf("the log does not name %q:\n%s", s, log.String())
			}
		}
	})
	t.Run("a cluster the server no longer knows", func(t *testing.T) {
		ctx := context.Background()
		if err := servers[0].Exec(ctx, "CREATE TABLE colo.spare AS colo.preds_local ENGINE = Distributed(spare, colo, preds_local, cityHash64(request_id))"); err != nil {
			t.Fatal(err)
		}
		// An operator drops the cluster from remote_servers; the server
		// reloads it by itself.
		if err := chtest.SetClusters(servers, chtest.Clusters{"two": {{0}, {1}}, "repl": {{0}, {1, 2}}}, chtest.ClusterOptions{}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			var n uint64
			if err := servers[0].Conn().QueryRow(ctx, "SELECT count() FROM system.clusters WHERE cluster = 'spare'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the server still knows cluster spare 30s after remote_servers dropped it")
			}
		}
		yml := strings.ReplaceAll(colo.config(servers[0].Addr(), ""), "{table: preds,", "{table: spare,")
		var log bytes.Buffer
		got := gatherLogged(t, loadTarget(t, yml), &log)
		for m, want := range map[string]float64{"churn": 0, "intent": 0, "eta": 1, "keyed": 0, "fraud": 1} {
			if v := got[fmt.Sprintf(`mlmon_scrape_success{model=%q}`, m)]; v != want {
				t.Errorf("model %s: mlmon_scrape_success = %v, want %v", m, v, want)
			}
		}
		if v := got[`mlmon_query_errors_total{model="churn",query="operations"}`]; v != 1 {
			t.Errorf("churn's operations query failed, yet its error counter is %v", v)
		}
		for _, s := range []string{"cluster 'spare' not found", "Distributed over cluster spare, local table colo.preds_local"} {
			if !strings.Contains(log.String(), s) {
				t.Errorf("the log does not name %q:\n%s", s, log.String())
			}
		}
	})
	t.Run("a shard's replica down", func(t *testing.T) {
		servers[2].Stop()
		compareScrapes(t, gather(t, loadTarget(t, repl.config(servers[0].Addr(), "")), NewCounters(), 60*time.Second), want)
	})
	t.Run("a shard down", func(t *testing.T) {
		servers[1].Stop()
		var log bytes.Buffer
		got := gatherLogged(t, loadTarget(t, colo.config(servers[0].Addr(), "")), &log)
		for _, m := range []string{"churn", "intent", "eta", "eta_train", "eta_sampled", "keyed", "fraud"} {
			if v, ok := got[fmt.Sprintf(`mlmon_scrape_success{model=%q}`, m)]; !ok || v != 0 {
				t.Errorf("model %s: a shard is down, yet mlmon_scrape_success = %v (present %v)", m, v, ok)
			}
		}
		// Never a value over half the rows: skip_unavailable_shards is off.
		for _, k := range []string{`mlmon_predictions{model="churn",window="current"}`, `mlmon_accuracy_ratio{model="churn",window="current"}`} {
			if v, ok := got[k]; ok {
				t.Errorf("%s = %v with a shard down", k, v)
			}
		}
		if !strings.Contains(log.String(), servers[1].Addr()) {
			t.Errorf("the log does not name the shard that is down (%s):\n%s", servers[1].Addr(), log.String())
		}
	})
}

// gatherLogged is gather with the scrape's log written to w.
func gatherLogged(t *testing.T, target *Target, w io.Writer) map[string]float64 {
	t.Helper()
	return gatherWith(t, target, NewCounters(), 60*time.Second, promslog.New(&promslog.Config{Writer: w}))
}

// compareScrapes asserts that got has exactly want's series with want's
// values, but for what the queries cost. Sums over shards add in another
// order; the digests of pre-aggregated numeric features merge in another
// order too, and are compared as the pre-aggregation test compares them.
func compareScrapes(t *testing.T, got, want map[string]float64) {
	t.Helper()
	cost := func(k string) bool {
		return strings.Contains(k, "duration_seconds") || strings.HasPrefix(k, "mlmon_clickhouse_read_")
	}
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: missing on the cluster, one server has %v", k, w)
		case cost(k):
		case strings.Contains(k, `model="fraud"`) && numericDrift(k):
			if math.Abs(g-w) > 0.02+0.1*math.Abs(w) && !strings.HasPrefix(k, "mlmon_feature_chi2_p_value") {
				t.Errorf("%s = %v, one server %v", k, g, w)
			}
		case math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)):
			t.Errorf("%s = %.15g, one server %.15g", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s = %v: only on the cluster", k, g)
		}
	}
}
