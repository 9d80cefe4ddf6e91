package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/compat"
	"github.com/mlmon/mlmon/internal/config"
)

// The busy-model scenario: one binary model with a score, n predictions in
// a 24 h window, labels for half of them, 20 numeric and 5 categorical
// features. The exporter scrapes it on ClickHouse 18.16; the SQL of its last
// warm scrape is read back from the server's query log and run again, with
// the same floor queries, on the current release through chDB, over the same
// seeded rows.
var busyTables = tables{"busy", "busy_labels"}

const busyNumeric, busyCategorical = 20, 5

// loggedQuery is one query of a scrape as ClickHouse logged it.
type loggedQuery struct {
	id   string // the exporter's name for it, the end of its query_id
	name string // id and which of that concern's queries it is (describeQuery)
	sql  string
	took time.Duration // on 18.16, from the log
}

// timing is one query's median time on each engine.
type timing struct {
	name           string
	legacy, recent time.Duration // 18.16, current (0: not measured)
}

type busyResult struct {
	rows        int
	floor       []timing // the scan, the join
	queries     []timing // the exporter's, in the order they started
	scrapeWarm  time.Duration
	floorWall   time.Duration // 18.16, measured between the warm scrapes
	recentError string        // why the current release was not measured
}

// logQueries is a users.d file that turns the query log on, so that the
// exporter's own SQL can be read back. It is merged into the packaged
// users.xml rather than replacing it: a profile of its own once left out
// use_uncompressed_cache = 0, and 18.16's built-in default then cached
// decompressed blocks for queries of at most a million rows, which made the
// floor's scan of a 1M-row window four times cheaper than on a server as
// installed (docs/benchmarks.md, "The uncompressed cache").
const logQueries = "<yandex><profiles><default><log_queries>1</log_queries></default></profiles></yandex>"

// loggingQueries is b on a server of its own in dir, with the query log on.
func (b *bench) loggingQueries(dir string) bench {
	check(os.MkdirAll(filepath.Join(dir, "users.d"), 0o755))
	packaged, err := os.ReadFile(filepath.Join(filepath.Dir(chtest.ConfigFile), "users.xml"))
	check(err)
	users := filepath.Join(dir, "users.xml")
	check(os.WriteFile(users, packaged, 0o644))
	check(os.WriteFile(filepath.Join(dir, "users.d", "log-queries.xml"), []byte(logQueries), 0o644))
	srv, err := chtest.StartWith(filepath.Join(dir, "clickhouse"), chtest.Options{Overrides: []string{"--users_config=" + users}})
	check(err)
	bb := *b
	bb.srv, bb.others = srv, nil
	return bb
}

// busy measures the scenario at n rows on a server of its own (with the
// query log on).
func (b *bench) busy(n, rounds int) busyResult {
	dir := filepath.Join(b.dir, fmt.Sprintf("busy-%d", n))
	bb := b.loggingQueries(dir)
	srv := bb.srv
	defer srv.Stop()

	now := time.Now().Truncate(time.Second)
	from := now.Add(-24 * time.Hour)
	seed := seedShapeSQL(busyTables, n, 24*time.Hour, busyNumeric, busyCategorical, now, 1,
		fmt.Sprintf("ts >= toDateTime(%d) AND cityHash64(request_id) %% 2 = 0", from.Unix()))
	fmt.Fprintf(os.Stderr, "busy model: seeding %d rows over 24 h, labels for half\n", n)
	check(srv.Exec(context.Background(), seed...))

	r := busyResult{rows: n}
	pass, join := bb.floorQueriesOf(busyTables, from, now, from)
	var floors, scans, joins []time.Duration
	var lastStart time.Time
	sc := scenario{tables: busyTables, models: 1, modelKeys: []string{"window: 24h", "delay: 0s", "performance: {window: 24h, delay: 0s}"}}
	scraped := bb.scrape(busyNumeric, busyCategorical, sc, func() {
		s, _ := bb.measure(pass)
		j, _ := bb.measure(join)
		scans, joins, floors = append(scans, s), append(joins, j), append(floors, s+j)
		lastStart = time.Now()
	})
	r.scrapeWarm, r.floorWall = scraped.warm, median(floors)
	logged := loggedScrape(srv, lastStart)
	fmt.Fprintf(os.Stderr, "  18.16: floor %s, scrape warm %s, %d queries a scrape\n", r.floorWall.Round(time.Millisecond), r.scrapeWarm.Round(time.Millisecond), len(logged))

	r.floor = []timing{{name: "floor: one scan of every column", legacy: median(scans)}, {name: "floor: predictions ⋈ labels", legacy: median(joins)}}
	for _, q := range logged {
		r.queries = append(r.queries, timing{name: "exporter: " + q.name, legacy: q.took})
	}
	cfg, err := config.Load(filepath.Join(bb.dir, "mlmon.yml"))
	check(err)
	var sqls []string
	var queries []timing
	for i, q := range logged {
		for _, sql := range forCurrentServer(srv, &cfg.Models[0], q.sql) {
			if sql != q.sql {
				queries = append(queries, timing{name: "exporter: " + describeQuery(q.id, sql)})
			} else {
				queries = append(queries, r.queries[i])
			}
			sqls = append(sqls, sql)
		}
	}
	r.queries = queries
	floor, scrape, err := onCurrent(filepath.Join(dir, "chdb"), seed, []string{pass, join}, sqls, rounds)
	if err != nil {
		r.recentError = err.Error()
		fmt.Fprintf(os.Stderr, "  current release not measured: %v\n", err)
		return r
	}
	for i := range floor {
		r.floor[i].recent = floor[i].wall
	}
	for i := range scrape {
		r.queries[i].recent = scrape[i].wall
	}
	return r
}

// loggedScrape reads the queries the exporter started since since (one
// warm scrape) from the query log, in the order they started.
func loggedScrape(srv *chtest.Server, since time.Time) []loggedQuery {
	ctx := context.Background()
	check(srv.Exec(ctx, "SYSTEM FLUSH LOGS"))
	rows, err := srv.Conn().Query(ctx, `SELECT query_id, query, query_duration_ms FROM system.query_log
		WHERE type = 2 AND query_id LIKE 'mlmon-%' AND query_start_time >= toDateTime(?) AND query NOT LIKE '%system.%' AND query NOT LIKE 'SELECT version()%'`,
		since.Add(-time.Second).Unix())
	check(err)
	defer rows.Close()
	type entry struct {
		seq    int
		scrape string
		q      loggedQuery
	}
	var out []entry
	for rows.Next() {
		var id, sql string
		var ms uint64
		check(rows.Scan(&id, &sql, &ms))
		// mlmon-<client>-<seq>-<scrape>-<name>
		parts := strings.SplitN(id, "-", 5)
		if len(parts) != 5 {
			continue
		}
		var seq int
		fmt.Sscan(parts[2], &seq)
		out = append(out, entry{seq, parts[3], loggedQuery{id: parts[4], name: describeQuery(parts[4], sql), sql: sql, took: time.Duration(ms) * time.Millisecond}})
	}
	check(rows.Err())
	slices.SortFunc(out, func(a, b entry) int { return a.seq - b.seq })
	// The log's times are whole seconds: a short scrape before the last
	// one may start within the second before since. Only the last scrape's
	// queries count.
	var qs []loggedQuery
	for _, e := range out {
		if e.scrape == out[len(out)-1].scrape {
			qs = append(qs, e.q)
		}
	}
	return qs
}

// describeQuery names a query for the table: its name in the exporter
// (the end of its query_id), and which of that concern's queries it is.
func describeQuery(name, sql string) string {
	switch {
	case strings.Contains(sql, " JOIN "):
		return name + ": label join"
	case strings.HasPrefix(sql, "SELECT DISTINCT"):
		return name + ": label names"
	case strings.HasPrefix(sql, "SELECT quantiles("):
		return name + ": quantile grid"
	case strings.Contains(sql, "AS mlmon_labels"):
		return name + ": label volume"
	case strings.Contains(sql, "mlmon_k"):
		return name + ": bins (state keys)"
	}
	return name
}

func printBusy(w io.Writer, r busyResult) {
	fmt.Fprintf(w, "\nOne busy model: %d predictions in a 24 h window, labels for half, %d numeric + %d categorical features; medians:\n\n",
		r.rows, busyNumeric, busyCategorical)
	fmt.Fprintln(w, "| query | ClickHouse 26 (chDB) | ClickHouse 18.16 |")
	fmt.Fprintln(w, "|---|---|---|")
	cell := func(d time.Duration) string {
		if d == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	var floorL, floorR, scrapeL, scrapeR time.Duration
	for _, t := range r.floor {
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.name, cell(t.recent), cell(t.legacy))
		floorL, floorR = floorL+t.legacy, floorR+t.recent
	}
	for _, t := range r.queries {
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.name, cell(t.recent), cell(t.legacy))
		scrapeL, scrapeR = scrapeL+t.legacy, scrapeR+t.recent
	}
	ratio := func(a, b time.Duration) string {
		if a == 0 || b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", a.Seconds()/b.Seconds())
	}
	fmt.Fprintf(w, "| **sum of the scrape's queries / floor** | **%s** | **%s** |\n", ratio(scrapeR, floorR), ratio(scrapeL, floorL))
	fmt.Fprintf(w, "\n18.16: the exporter scraped the model in %s warm (its queries overlap) against a floor of %s: %s.\n",
		r.scrapeWarm.Round(time.Millisecond), r.floorWall.Round(time.Millisecond), ratio(r.scrapeWarm, r.floorWall))
	if r.recentError != "" {
		fmt.Fprintf(w, "ClickHouse 26 not measured: %s\n", r.recentError)
	}
}

// forCurrentServer is the SQL the exporter sends a current server for the
// query it sent 18.16: the same but for the label join, which reads the
// predictions once before 19.4 (chquery.Source.ReadOnce). Later releases
// first count both sides of the join (chquery.LabelVolumeQuery), then filter
// the labels by the window's ids where that pays (Client.FilterLabels):
// both are decided here on the 18.16 server, which holds the same rows. The
// 18.16 form is rebuilt first and must equal the logged text, so the two
// differ in that alone.
func forCurrentServer(srv *chtest.Server, m *config.Model, logged string) []string {
	if !strings.Contains(logged, " JOIN ") {
		return []string{logged}
	}
	times := regexp.MustCompile(`toDateTime\((\d+)\)`).FindAllStringSubmatch(logged, 2)
	if len(times) < 2 {
		check(fmt.Errorf("no window in the join:\n%s", logged))
	}
	from, _ := strconv.ParseInt(times[0][1], 10, 64)
	to, _ := strconv.ParseInt(times[1][1], 10, 64)
	w := chquery.Window{From: time.Unix(from, 0), To: time.Unix(to, 0)}
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	bind := func(q chquery.Query) string {
		text, err := compat.Bind(q.SQL, q.Args...)
		check(err)
		return text
	}
	vq, err := chquery.LabelVolumeQuery(m, chquery.Source{Window: w})
	check(err)
	var v chquery.LabelVolume
	check(srv.Conn().QueryRow(context.Background(), bind(vq)).Scan(&v.Labels, &v.Predictions))
	for _, build := range []func(*config.Model, chquery.Source) (chquery.Query, error){chquery.ClassificationQuery, chquery.ClassificationByNameQuery} {
		old, err := build(m, chquery.Source{Window: w, ReadOnce: true})
		check(err)
		if flat(bind(old)) != flat(logged) {
			continue
		}
		cur, err := build(m, chquery.Source{Window: w, ReadOnce: !v.FilterPays()})
		check(err)
		return []string{bind(vq), bind(cur)}
	}
	check(fmt.Errorf("the logged join is not the builders' 18.16 form:\n%s", logged))
	return nil
}
