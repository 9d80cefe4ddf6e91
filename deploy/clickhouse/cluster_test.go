package clickhouse_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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

var update = flag.Bool("update", false, "rewrite cluster.sql from schema.sql and preaggregate.sql")

// clusterHeader opens cluster.sql.
const clusterHeader = `-- mlmon's demo tables on a ClickHouse cluster (runs on 18.16 and current
-- releases): schema.sql and preaggregate.sql split into a local table on
-- every shard and a Distributed table over them. Run this file on EVERY
-- server of the cluster (or add ON CLUSTER to each statement where
-- distributed DDL is set up), after replacing mlmon_cluster with the name
-- of your cluster in the servers' <remote_servers>.
--
-- Generated from schema.sql and preaggregate.sql: edit those, then run
--   go test ./deploy/clickhouse -run TestClusterSQLIsDerived -update
--
-- mlmon reads the Distributed tables by the names schema.sql gives its
-- tables, so a configuration written for one server works unchanged.
--
-- Predictions and labels are sharded by the same expression of the request
-- id, cityHash64(request_id): every label lives on its prediction's shard,
-- and the exporter, which reads the sharding keys from system.tables, has
-- each shard join its own rows (ground_truth.distributed_join: auto picks
-- "local"; no label crosses the network). Shard labels by anything else and
-- it ships the window's labels to the shards instead ("global").
-- docs/cluster.md says what each costs.
--
-- Replicas: with ZooKeeper, make the local tables Replicated*MergeTree and
-- set <internal_replication>true</internal_replication>; without it,
-- MergeTree as here and internal_replication false, and the Distributed
-- table writes every replica itself.
--
-- Pre-aggregation runs on every shard, over that shard's predictions, into
-- mlmon_feature_aggregates_local; the Distributed mlmon_feature_aggregates
-- over them is what preaggregated: {table: mlmon_feature_aggregates, ...}
-- names. The aggregates table has no sharding key: mlmon only reads it.
`

var (
	createTableName = regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS (\w+)`)
	viewTarget      = regexp.MustCompile(`\bTO (\w+)\b`)
	viewSource      = regexp.MustCompile(`\bFROM (\w+)\b`)
)

// deriveClusterSQL turns the single-server DDL into cluster.sql: each table
// T becomes T_local and a Distributed T over it, sharded by the request id
// (the aggregates table by nothing); each view reads and writes the local
// tables.
func deriveClusterSQL(t *testing.T) string {
	t.Helper()
	var out []string
	for _, file := range []string{"schema.sql", "preaggregate.sql"} {
		for _, s := range mustStatements(t, file) {
			if m := createTableName.FindStringSubmatch(s); m != nil {
				name := m[1]
				key := ", cityHash64(request_id)"
				if file == "preaggregate.sql" {
					key = ""
				}
				out = append(out, strings.Replace(s, m[0], m[0]+"_local", 1),
					fmt.Sprintf("CREATE TABLE IF NOT EXISTS %[1]s AS %[1]s_local\nENGINE = Distributed(mlmon_cluster, currentDatabase(), %[1]s_local%[2]s)", name, key))
				continue
			}
			if !strings.HasPrefix(s, "CREATE MATERIALIZED VIEW") {
				t.Fatalf("%s: a statement cluster.sql does not know how to derive:\n%s", file, s)
			}
			s = viewTarget.ReplaceAllString(s, "TO ${1}_local")
			out = append(out, viewSource.ReplaceAllString(s, "FROM ${1}_local"))
		}
	}
	return clusterHeader + "\n" + strings.Join(out, ";\n\n") + ";\n"
}

// cluster.sql is what schema.sql and preaggregate.sql make of it, so the
// cluster's tables and views cannot drift from the single server's.
func TestClusterSQLIsDerived(t *testing.T) {
	want := deriveClusterSQL(t)
	if *update {
		if err := os.WriteFile(clusterSQL, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(clusterSQL)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("cluster.sql is stale: go test ./deploy/clickhouse -run TestClusterSQLIsDerived -update")
	}
}

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
		if got, err := client.Join(ctx, &m, "test"); err != nil || got.Strategy != chquery.JoinLocal {
			t.Errorf("model %s joins %v (%v), want %v: cluster.sql shards predictions and labels alike", m.Name, got, err, chquery.JoinLocal)
		}
	}
}
