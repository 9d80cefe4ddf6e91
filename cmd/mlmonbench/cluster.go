package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlmon/mlmon/internal/chtest"
)

// clusterResult is one scrape of the same rows on one server or on a
// cluster of two shards.
type clusterResult struct {
	layout, join string
	scraped
	moved     int64   // bytes between the two servers per warm scrape
	shardRows float64 // rows the second shard read per warm scrape
}

// clusterLayouts are the ways the bench spreads the rows over two shards:
// labels sharded like their predictions, and apart from them.
var clusterLayouts = []struct{ db, labelsKey string }{
	{"colo", "cityHash64(request_id)"},
	{"apart", "cityHash64(label, ts)"},
}

// cluster seeds n rows on the single server and copies them onto a cluster
// of two shards, then scrapes each. The exporter talks to the first shard,
// which reaches the second through a counting proxy: what crosses between
// them is what a scrape costs the network. Query logging on the second
// shard tells the rows it read.
func (b *bench) cluster(n, numeric, categorical int) []clusterResult {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	single := tables{"cl_bench", "cl_bench_labels"}
	fmt.Fprintf(os.Stderr, "cluster: seeding %d rows × %d features\n", n, numeric+categorical)
	check(b.srv.Exec(ctx, seedSQL(single, n, time.Hour, numeric, categorical, now)...))

	between := newProxy("")
	defer between.ln.Close()
	port := between.ln.Addr().(*net.TCPAddr).Port
	servers, err := chtest.StartClusterWith(filepath.Join(b.dir, "cluster"), 2, chtest.Clusters{"bench": {{0}, {1}}}, chtest.ClusterOptions{
		Via:    map[int]int{1: port},
		UsersD: map[string]string{"log-queries.xml": logQueries},
	})
	check(err)
	defer chtest.StopAll(servers)
	target := servers[1].Addr()
	between.target.Store(&target)

	for _, l := range clusterLayouts {
		for s, srv := range servers {
			check(srv.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+l.db))
			for _, t := range []string{single.predictions, single.labels} {
				var create string
				check(b.srv.Conn().QueryRow(ctx, "SHOW CREATE TABLE default."+t).Scan(&create))
				key := "cityHash64(request_id)"
				if t == single.labels {
					key = l.labelsKey
				}
				check(srv.Exec(ctx,
					strings.Replace(create, "default."+t+" ", l.db+"."+t+"_local ", 1),
					fmt.Sprintf("CREATE TABLE %[1]s.%[2]s AS %[1]s.%[2]s_local ENGINE = Distributed(bench, %[1]s, %[2]s_local, %[3]s)", l.db, t, key),
					fmt.Sprintf("INSERT INTO %s.%s_local SELECT * FROM remote('%s', default, %s) WHERE %s %% 2 = %d", l.db, t, b.srv.Addr(), t, key, s)))
			}
		}
	}

	var out []clusterResult
	r := clusterResult{layout: "one server", join: "single"}
	r.scraped = b.scrape(numeric, categorical, scenario{tables: single}, nil)
	out = append(out, r)
	cb := *b
	cb.srv, cb.others = servers[0], servers[1:]
	for _, run := range []struct{ db, join, label string }{
		{"colo", "", "local (auto)"},
		{"colo", "global", "global"},
		{"apart", "", "global (auto)"},
		{"apart", "initiator", "initiator"},
	} {
		fmt.Fprintf(os.Stderr, "cluster: %s, %s join\n", run.db, run.label)
		r := clusterResult{layout: "2 shards, labels " + map[string]string{"colo": "co-located", "apart": "apart"}[run.db], join: run.label}
		var moved []int64
		var since time.Time
		sc := scenario{tables: tables{run.db + "." + single.predictions, run.db + "." + single.labels}, join: run.join}
		r.scraped = cb.scrape(numeric, categorical, sc, func() {
			if since.IsZero() {
				since = time.Now()
			}
			moved = append(moved, between.received.Load()+between.sent.Load())
		})
		moved = append(moved, between.received.Load()+between.sent.Load())
		r.moved = (moved[len(moved)-1] - moved[0]) / int64(len(moved)-1)
		check(servers[1].Exec(ctx, "SYSTEM FLUSH LOGS"))
		var rows uint64
		check(servers[1].Conn().QueryRow(ctx, fmt.Sprintf(
			"SELECT sum(read_rows) FROM system.query_log WHERE type = 2 AND is_initial_query = 0 AND query_start_time >= toDateTime(%d)", since.Unix())).Scan(&rows))
		r.shardRows = float64(rows) / float64(len(moved)-1)
		fmt.Fprintf(os.Stderr, "  scrape %s, %.1f MB between the servers, %.0f rows read on shard 2\n", r.warm.Round(time.Millisecond), float64(r.moved)/1e6, r.shardRows)
		out = append(out, r)
	}
	return out
}

func printCluster(w io.Writer, rows int, rs []clusterResult) {
	fmt.Fprintf(w, "\nThe same %d rows on one server and on two shards (Distributed tables):\n\n", rows)
	fmt.Fprintln(w, "| layout | performance join | scrape (warm) | ClickHouse CPU/scrape (all servers) | rows read/scrape | rows read on shard 2 | bytes between servers/scrape | bytes to exporter/scrape |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		shard, moved := "–", "–"
		if r.join != "single" {
			shard, moved = fmt.Sprintf("%.0f", r.shardRows), fmt.Sprintf("%.2f MB", float64(r.moved)/1e6)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.0f | %s | %s | %.1f kB |\n", r.layout, r.join, r.warm.Round(time.Millisecond),
			r.cpu.Round(10*time.Millisecond), r.readRows, shard, moved, float64(r.bytesPerScrape)/1e3)
	}
}
