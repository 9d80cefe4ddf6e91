package clickhouse_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
)

const (
	clusterSQL  = "cluster.sql"
	localConfig = "../local/mlmon.yml"
)

// cluster.sql applies twice on every server of a two-shard cluster of
// ClickHouse 18.16 servers; its local tables are schema.sql's and
// preaggregate.sql's, column for column; the demo data writer fills the
// Distributed tables, every label landing on its prediction's shard; and
// the exporter, with the local stack's configuration pointed at one
// server, joins each model on the shards and scrapes every model whole.
func TestClusterSchemaOn1816(t *testing.T) {
	servers, err := chtest.StartCluster(t.TempDir(), 2, chtest.Clusters{"mlmon_cluster": {{0}, {1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer chtest.StopAll(servers)
	ctx := context.Background()
	stmts := mustStatements(t, clusterSQL)
	for range 2 {
		for i, srv := range servers {
			for _, s := range stmts {
				if err := srv.Exec(ctx, s); err != nil {
					t.Fatalf("cluster.sql on server %d: %v", i, err)
				}
			}
		}
	}

	// The same columns as the single-server files, as the server sees them.
	if err := applySchema(servers[0], "single"); err != nil {
		t.Fatal(err)
	}
	single := open(t, servers[0], "default", "", "single")
	for _, s := range mustStatements(t, "preaggregate.sql") {
		if err := single.Exec(ctx, s); err != nil {
			t.Fatalf("preaggregate.sql: %v", err)
		}
	}
	columns := func(db, table string) string {
		var cols string
		q := fmt.Sprintf("SELECT arrayStringConcat(groupArray(concat(name, ' ', type)), ', ') FROM (SELECT name, type FROM system.columns WHERE database = '%s' AND table = '%s')", db, table)
		if err := servers[0].Conn().QueryRow(ctx, q).Scan(&cols); err != nil {
			t.Fatal(err)
		}
		return cols
	}
	for _, table := range []string{"predictions", "ground_truth", "eta_predictions", "eta_ground_truth", "mlmon_feature_aggregates"} {
		want := columns("single", table)
		if want == "" {
			t.Fatalf("single.%s has no columns", table)
		}
		for _, name := range []string{table + "_local", table} {
			if got := columns("default", name); got != want {
				t.Errorf("cluster.sql's %s has columns\n  %s\nschema.sql's %s\n  %s", name, got, table, want)
			}
		}
	}

	cmd := exec.Command(filepath.Join(binDir, "demodata"), "--clickhouse.addr="+servers[0].Addr(), "--rate=1", "--history=3h", "--reference.length=2h")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("demodata: %v\n%s", err, out)
	}
	// 18.16 sends a Distributed insert's rows for other shards in the
	// background: wait until the second server's counts settle.
	count := func(srv *chtest.Server, q string) uint64 {
		var n uint64
		if err := srv.Conn().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	settled := func() string {
		return fmt.Sprint(count(servers[1], "SELECT count() FROM predictions_local"), count(servers[1], "SELECT count() FROM ground_truth_local"),
			count(servers[1], "SELECT count() FROM eta_predictions_local"), count(servers[1], "SELECT count() FROM eta_ground_truth_local"))
	}
	prev := settled()
	for deadline := time.Now().Add(60 * time.Second); ; {
		time.Sleep(2 * time.Second)
		cur := settled()
		if cur == prev && count(servers[1], "SELECT count() FROM eta_ground_truth_local") > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second shard's rows did not settle: %s", cur)
		}
		prev = cur
	}
	for i, srv := range servers {
		for _, pair := range [][2]string{{"predictions_local", "ground_truth_local"}, {"eta_predictions_local", "eta_ground_truth_local"}} {
			if n := count(srv, "SELECT count() FROM "+pair[0]); n == 0 {
				t.Errorf("server %d holds no %s", i, pair[0])
			}
			if n := count(srv, fmt.Sprintf("SELECT count() FROM %s WHERE request_id NOT IN (SELECT request_id FROM %s)", pair[1], pair[0])); n != 0 {
				t.Errorf("server %d holds %d labels of %s whose prediction lives on another shard", i, n, pair[1])
			}
		}
	}
	// Every shard aggregated its own predictions.
	for _, model := range []string{"churn", "intent"} {
		rows := count(servers[0], fmt.Sprintf("SELECT count() FROM predictions WHERE model = '%s'", model))
		agg := count(servers[0], fmt.Sprintf("SELECT toUInt64(sum(n)) FROM (SELECT countMerge(rows) AS n FROM mlmon_feature_aggregates WHERE model = '%s' AND feature = 'prediction')", model))
		if rows == 0 || agg != rows {
			t.Errorf("%s: %d predictions, %d in the Distributed aggregates", model, rows, agg)
		}
	}

	file := filepath.Join(t.TempDir(), "mlmon.yml")
	writeWithAddr(t, localConfig, file, servers[0].Addr())
	checkScrape(t, file, scrape(t, file, nil, "20"))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	client, err := chquery.Open(cfg.ClickHouse, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, m := range cfg.Models {
		if m.GroundTruth == nil {
			continue
		}
		if got, err := client.Join(ctx, &m, "test"); err != nil || got != chquery.JoinLocal {
			t.Errorf("model %s joins %v (%v), want %v: cluster.sql shards predictions and labels alike", m.Name, got, err, chquery.JoinLocal)
		}
	}
}
