package chquery

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/common/promslog"

	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
)

// sqlStatements reads a DDL file of the repository as statements.
func sqlStatements(t testing.TB, file string) []string {
	t.Helper()
	stmts, err := chtest.Statements(file)
	if err != nil {
		t.Fatal(err)
	}
	return stmts
}

// demoDatabase creates database db with the shipped demo schema and
// pre-aggregation DDL, and returns a connection to it.
func demoDatabase(t testing.TB, db string) driver.Conn {
	t.Helper()
	ctx := context.Background()
	if err := server.Exec(ctx, "DROP DATABASE IF EXISTS "+db, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{server.Addr()}, Auth: clickhouse.Auth{Database: db}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, file := range []string{"../../deploy/clickhouse/schema.sql", "../../deploy/clickhouse/preaggregate.sql"} {
		for _, s := range sqlStatements(t, file) {
			if err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("%s: %v\n%s", file, err, s)
			}
		}
	}
	return conn
}

// demoRow is one row of schema.sql's predictions table; nil pointers are
// NULLs.
type demoRow struct {
	ts             time.Time
	model          string
	prediction     string
	score          *float64
	age            float64
	tenure         uint16
	monthlyCharges *float64
	plan           string
	region         *string
}

func insertDemoRows(t testing.TB, conn driver.Conn, rows []demoRow) {
	t.Helper()
	ctx := context.Background()
	// Several inserts: the view writes several parts per interval, which
	// the query must merge like the background merges would.
	for chunk := range slices.Chunk(rows, 2500) {
		b, err := conn.PrepareBatch(ctx, "INSERT INTO predictions (ts, request_id, model, model_version, prediction, score, latency_ms, is_error, age, tenure_months, monthly_charges, plan, region)")
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range chunk {
			if err := b.Append(r.ts, fmt.Sprint(i), r.model, "v1", r.prediction, r.score, 12.5, uint8(0), r.age, r.tenure, r.monthlyCharges, r.plan, r.region); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
}

// preaggRows generates a window's worth of churn predictions with every case
// the estimate must handle: a continuous feature (age) that drifts past the
// reference range, a discrete one (tenure) whose values sit on the bin edges,
// NULL, NaN and Inf, categories outside the top ones and never seen, and
// rows of another model and outside the window that must not count.
func preaggRows(from time.Time, span time.Duration) []demoRow {
	rng := rand.New(rand.NewPCG(8, 13))
	plans := []string{"basic", "basic", "basic", "pro", "pro", "enterprise", "trial"}
	var rows []demoRow
	add := func(ts time.Time, model string) {
		r := demoRow{ts: ts, model: model, prediction: []string{"0", "1"}[rng.IntN(2)],
			age: 45 + 12*rng.NormFloat64(), tenure: uint16(rng.IntN(48)), plan: plans[rng.IntN(len(plans))]}
		if rng.Float64() < 0.9 {
			s := rng.Float64()
			r.score = &s
		}
		switch u := rng.Float64(); {
		case u < 0.05: // NULL
		case u < 0.07:
			nan := math.NaN()
			r.monthlyCharges = &nan
		case u < 0.08:
			inf := math.Inf(1)
			r.monthlyCharges = &inf
		default:
			c := math.Round(rng.ExpFloat64()*4000) / 100 // cents: many ties
			r.monthlyCharges = &c
		}
		if rng.Float64() < 0.85 {
			reg := []string{"eu", "us", "apac", ""}[rng.IntN(4)]
			r.region = &reg
		}
		rows = append(rows, r)
	}
	for range 6000 {
		add(from.Add(time.Duration(rng.Int64N(int64(span)))), "churn")
	}
	for range 500 {
		add(from.Add(time.Duration(rng.Int64N(int64(span)))), "intent")
	}
	for range 500 { // the hour before
		add(from.Add(-time.Duration(1+rng.Int64N(int64(time.Hour)))), "churn")
	}
	return rows
}

// preaggBinnings are reference binnings chosen by hand: tenure's edges are
// values the feature takes (ties on every edge), age's reference range is
// narrower than the window's values, and the categorical columns have a
// complete seen list, none, and an empty one (a reference without values,
// so without top categories either).
func preaggBinnings() []Binning {
	return []Binning{
		{Column: Column{Name: "age", Numeric: true}, Edges: []float64{30, 40, 45, 50, 60}, Min: 15, Max: 75},
		{Column: Column{Name: "tenure_months", Numeric: true}, Edges: []float64{6, 12, 24, 36}, Min: 0, Max: 47},
		{Column: Column{Name: "monthly_charges", Numeric: true}, Edges: []float64{5, 10.5, 20, 40, 80}, Min: 0.01, Max: 150},
		{Column: Column{Name: "score", Numeric: true}, Edges: []float64{0.25, 0.5, 0.75}, Min: 0, Max: 1},
		{Column: Column{Name: "plan"}, Categories: []string{"basic", "pro"}, Seen: []string{"basic", "pro", "enterprise"}},
		{Column: Column{Name: "region"}, Categories: []string{"eu", "us", ""}},
		{Column: Column{Name: "prediction"}, Categories: []string{}, Seen: []string{}},
	}
}

// oracleStats computes, in Go from the generated rows, what WindowStats
// must hold exactly: the rows of the model in [w.From, w.To), binned as
// WindowQuery documents it.
func oracleStats(rows []demoRow, model string, w Window, cols []Binning) WindowStats {
	ws := WindowStats{Columns: make([]ColumnStats, len(cols))}
	for i, c := range cols {
		ws.Columns[i].Bins = make([]uint64, len(c.Edges)+len(c.Categories)+1)
	}
	for _, r := range rows {
		if r.model != model || r.ts.Before(w.From) || !r.ts.Before(w.To) {
			continue
		}
		ws.Rows++
		for i, c := range cols {
			cs := &ws.Columns[i]
			if c.Numeric {
				x, ok := r.number(c.Name)
				if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
					cs.Missing++
					continue
				}
				bin := 0
				for _, e := range c.Edges {
					if x >= e {
						bin++
					}
				}
				cs.Bins[bin]++
				if x < c.Min || x > c.Max {
					cs.OutOfRange++
				}
				continue
			}
			v, ok := r.category(c.Name)
			if !ok {
				cs.Missing++
				continue
			}
			bin := slices.Index(c.Categories, v)
			if bin < 0 {
				bin = len(c.Categories)
			}
			cs.Bins[bin]++
			if c.Seen != nil && !slices.Contains(c.Seen, v) {
				cs.Unseen++
			}
		}
	}
	return ws
}

func (r demoRow) number(col string) (float64, bool) {
	switch col {
	case "age":
		return r.age, true
	case "tenure_months":
		return float64(r.tenure), true
	case "monthly_charges":
		return deref(r.monthlyCharges)
	case "score":
		return deref(r.score)
	}
	panic(col)
}

func (r demoRow) category(col string) (string, bool) {
	switch col {
	case "plan":
		return r.plan, true
	case "region":
		return deref(r.region)
	case "prediction":
		return r.prediction, true
	}
	panic(col)
}

func deref[T any](p *T) (T, bool) {
	if p == nil {
		var zero T
		return zero, false
	}
	return *p, true
}

func preaggModel(db string) *config.Model {
	return &config.Model{
		Name: "churn",
		Predictions: config.Predictions{Table: db + ".predictions", Timestamp: "ts", ID: "request_id",
			ModelColumn: "model", Prediction: "prediction"},
		Preaggregated: &config.Preaggregated{Table: db + ".mlmon_feature_aggregates", Interval: time.Minute},
	}
}

// binTolerance bounds a numeric bin's (and the out-of-range count's)
// estimate, as a share of the values present. ClickHouse's t-digest keeps
// each centroid below 4·q·(1−q)·1% of the values (at most 1%, at the
// median), and a share read off it is wrong by at most about one centroid's
// weight where the values are tied (tenure) and far less where they are
// not; 1.5% leaves room for the Float32 centroids and rounding. The error
// measured here is reported by the test's log.
const binTolerance = 0.015

// The pre-aggregated window, merged from the view's states, agrees with the
// full scan and with an independent count of the generated rows: row,
// missing, categorical and unseen counts exactly; numeric bins and
// out-of-range counts within binTolerance; the Wasserstein grid closely.
func TestPreaggregatedWindowMatchesFullScan(t *testing.T) {
	const db = "preagg_it"
	conn := demoDatabase(t, db)
	from := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	rows := preaggRows(from, time.Hour)
	insertDemoRows(t, conn, rows)

	m := preaggModel(db)
	cols := preaggBinnings()
	c := testClient(t)
	ctx := context.Background()
	// Not on whole minutes: the window is rounded down at both ends.
	w := Window{From: from.Add(-30 * time.Second), To: from.Add(time.Hour - 20*time.Second)}
	rounded := Window{From: from.Add(-time.Minute), To: from.Add(59 * time.Minute)}
	if got := PreaggregatedRange(w, time.Minute); got != rounded {
		t.Fatalf("PreaggregatedRange = %v, want %v", got, rounded)
	}
	want := oracleStats(rows, "churn", rounded, cols)
	full, err := c.Window(ctx, m, Source{Window: rounded}, cols, "drift")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.PreaggregatedWindow(ctx, m, w, cols, "drift")
	if err != nil {
		t.Fatal(err)
	}
	if want.Rows < 5000 || got.Rows != want.Rows || full.Rows != want.Rows {
		t.Fatalf("rows: preaggregated %d, full scan %d, oracle %d", got.Rows, full.Rows, want.Rows)
	}
	var worst float64
	for i, col := range cols {
		g, f, o := got.Columns[i], full.Columns[i], want.Columns[i]
		// The full scan is exact: the oracle checks the test itself.
		if !slices.Equal(f.Bins, o.Bins) || f.Missing != o.Missing || f.OutOfRange != o.OutOfRange || f.Unseen != o.Unseen {
			t.Errorf("%s: full scan %+v, oracle %+v", col.Name, f, o)
		}
		if g.Missing != o.Missing || g.Unseen != o.Unseen {
			t.Errorf("%s: missing %d, unseen %d; want %d, %d", col.Name, g.Missing, g.Unseen, o.Missing, o.Unseen)
		}
		if !col.Numeric {
			if !slices.Equal(g.Bins, o.Bins) {
				t.Errorf("%s: bins %v, want %v", col.Name, g.Bins, o.Bins)
			}
			continue
		}
		present := float64(want.Rows - o.Missing)
		if len(g.Bins) != len(o.Bins) {
			t.Fatalf("%s: %d bins, want %d", col.Name, len(g.Bins), len(o.Bins))
		}
		var sum uint64
		for k := range o.Bins {
			sum += g.Bins[k]
			e := math.Abs(float64(g.Bins[k])-float64(o.Bins[k])) / present
			worst = max(worst, e)
			if e > binTolerance {
				t.Errorf("%s bin %d: %d, want %d ± %.1f%% of %g", col.Name, k, g.Bins[k], o.Bins[k], 100*binTolerance, present)
			}
		}
		if sum != uint64(present) {
			t.Errorf("%s: bins sum to %d, want the %g values present", col.Name, sum, present)
		}
		e := math.Abs(float64(g.OutOfRange)-float64(o.OutOfRange)) / present
		worst = max(worst, e)
		if e > binTolerance {
			t.Errorf("%s: out of range %d, want %d", col.Name, g.OutOfRange, o.OutOfRange)
		}
		if o.OutOfRange == 0 && g.OutOfRange != 0 {
			t.Errorf("%s: out of range %d: within the range, the exact min and max make it 0", col.Name, g.OutOfRange)
		}
		t.Logf("%s: bins %v, exact %v; out of range %d, exact %d", col.Name, g.Bins, o.Bins, g.OutOfRange, o.OutOfRange)
		checkGrid(t, col.Name, rows, rounded, g.Grid, f.Grid)
	}
	t.Logf("largest numeric count error: %.3f%% of the values present", 100*worst)
}

// checkGrid compares the digest's quantiles with the full scan's (exact
// below 8192 values, as here) by rank: the share of the window's values
// below the estimate must be within 1% of the level asked for. A rank is
// what the Wasserstein distance averages over, and ties make the values
// themselves jump.
func checkGrid(t *testing.T, col string, rows []demoRow, w Window, got, exact []float64) {
	t.Helper()
	if len(got) != len(WassersteinGrid) || len(exact) != len(WassersteinGrid) {
		t.Fatalf("%s: grid of %d and %d, want %d", col, len(got), len(exact), len(WassersteinGrid))
	}
	var values []float64
	for _, r := range rows {
		if x, ok := r.number(col); ok && r.model == "churn" && !r.ts.Before(w.From) && r.ts.Before(w.To) && !math.IsNaN(x) && !math.IsInf(x, 0) {
			values = append(values, x)
		}
	}
	slices.Sort(values)
	n := float64(len(values))
	for k, u := range WassersteinGrid {
		q := float64(float32(got[k])) // the digest's precision
		lo := float64(sortSearch(values, q, false)) / n
		hi := float64(sortSearch(values, q, true)) / n
		if u < lo-0.01 || u > hi+0.01 {
			t.Errorf("%s: quantile %g = %g (full scan %g) has rank [%g, %g]", col, u, got[k], exact[k], lo, hi)
		}
	}
}

// sortSearch counts the sorted values below x, or at most x with inclusive;
// values equal to x up to Float32 precision count as equal.
func sortSearch(values []float64, x float64, inclusive bool) int {
	n := 0
	for _, v := range values {
		v32, x32 := float32(v), float32(x)
		if v32 < x32 || inclusive && v32 == x32 {
			n++
		}
	}
	return n
}

// A column the view does not list is an error naming it, not a feature
// that went 100% missing.
func TestPreaggregatedWindowUnlistedColumn(t *testing.T) {
	const db = "preagg_unlisted"
	conn := demoDatabase(t, db)
	from := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	insertDemoRows(t, conn, preaggRows(from, time.Hour))
	cols := append(preaggBinnings(), Binning{Column: Column{Name: "model_version"}, Categories: []string{"v1"}, Seen: []string{"v1"}})
	_, err := testClient(t).PreaggregatedWindow(context.Background(), preaggModel(db), Window{From: from, To: from.Add(time.Hour)}, cols, "drift")
	if err == nil || !strings.Contains(err.Error(), "model_version") || !strings.Contains(err.Error(), "materialized view") {
		t.Errorf("got %v, want an error naming model_version and the view", err)
	}
}

// An empty window is empty, not an error: no rows, every bin 0.
func TestPreaggregatedWindowEmpty(t *testing.T) {
	const db = "preagg_empty"
	demoDatabase(t, db)
	from := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	ws, err := testClient(t).PreaggregatedWindow(context.Background(), preaggModel(db), Window{From: from, To: from.Add(time.Hour)}, preaggBinnings(), "drift")
	if err != nil {
		t.Fatal(err)
	}
	for i, cs := range ws.Columns {
		if ws.Rows != 0 || cs.Missing != 0 || slices.Max(cs.Bins) != 0 {
			t.Errorf("column %d of an empty window: rows %d, %+v", i, ws.Rows, cs)
		}
	}
}

func TestPreaggregatedRange(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	for _, tc := range []struct {
		from, to         int64
		interval         time.Duration
		wantFrom, wantTo int64
	}{
		{1_700_000_000, 1_700_003_600, time.Minute, 1_699_999_980, 1_700_003_580},
		{1_699_999_980, 1_700_003_580, time.Minute, 1_699_999_980, 1_700_003_580}, // already whole
		{1_700_000_299, 1_700_086_699, 5 * time.Minute, 1_700_000_100, 1_700_086_500},
	} {
		got := PreaggregatedRange(Window{From: at(tc.from), To: at(tc.to)}, tc.interval)
		want := Window{From: at(tc.wantFrom), To: at(tc.wantTo)}
		if got != want {
			t.Errorf("PreaggregatedRange(%d, %d, %s) = %v, want %v", tc.from, tc.to, tc.interval, got, want)
		}
		if got.From.Unix()%int64(tc.interval.Seconds()) != 0 || got.Duration() != time.Duration(tc.to-tc.from)*time.Second {
			t.Errorf("%v: not whole intervals of the window's length", got)
		}
	}
}

// estimateNumeric reads the bins and the out-of-range count off the merged
// digest at cdfLevels (the digest's own tests are stats.TestDigestCDF).
func TestEstimateNumeric(t *testing.T) {
	levels := make([]float64, len(cdfLevels))
	for i, p := range cdfLevels {
		levels[i] = 10 * p // uniform on [0, 10]
	}
	// Bins on 1000 uniform values: 250 each, summing to the values.
	bins, out := estimateNumeric(Binning{Column: Column{Numeric: true}, Edges: []float64{2.5, 5, 7.5}, Min: 0, Max: 10},
		preaggColumn{present: 1000, levels: levels, min: 0, max: 10})
	if !slices.Equal(bins, []uint64{250, 250, 250, 250}) || out != 0 {
		t.Errorf("bins %v, out of range %d; want 250 each and 0", bins, out)
	}
	// Values out of a reference range [2, 9]: 20% below, 10% above.
	_, out = estimateNumeric(Binning{Column: Column{Numeric: true}, Min: 2, Max: 9},
		preaggColumn{present: 1000, levels: levels, min: 0, max: 10})
	if out != 300 {
		t.Errorf("out of range %d, want 300", out)
	}
	// No values: empty bins, whatever the (NaN) digest.
	bins, out = estimateNumeric(Binning{Column: Column{Numeric: true}, Edges: []float64{1}, Min: 0, Max: 2},
		preaggColumn{levels: levels, min: math.NaN(), max: math.NaN()})
	if !slices.Equal(bins, []uint64{0, 0}) || out != 0 {
		t.Errorf("no values: bins %v, out of range %d; want [0 0] and 0", bins, out)
	}
}

// BenchmarkPreaggregatedWindow measures a day's drift window of one model
// with 20 numeric and 5 categorical columns, 10M predictions, both ways:
// the full scan (Window) and the merge of the views' per-minute states
// (PreaggregatedWindow). Seeding goes through the views, as production
// inserts do, and takes a few minutes:
//
//	go test -run '^$' -bench PreaggregatedWindow -benchtime 3x -timeout 30m ./internal/chquery/
//
// rows_read/op is what ClickHouse reported reading for the window.
func BenchmarkPreaggregatedWindow(b *testing.B) {
	const (
		db       = "preagg_bench"
		rows     = 10_000_000
		numeric  = 20
		category = 5
		start    = 1_780_012_800 // a whole minute
	)
	ctx := context.Background()
	var names, values, cnames, cvalues, cols, gen []string
	var binnings []Binning
	for k := range numeric {
		n := fmt.Sprintf("f%d", k)
		names, values = append(names, "'"+n+"'"), append(values, "ifNull(toFloat64("+n+"), nan)")
		cols = append(cols, n+" Float64")
		// Smooth, different per column, some ties (rounded to 0.01).
		gen = append(gen, fmt.Sprintf("round(%d + 10 * sin(number * %g) + 3 * cos(number * %g), 2)", k, 0.37*float64(k+1), 0.11*float64(k+3)))
		binnings = append(binnings, Binning{Column: Column{Name: n, Numeric: true},
			Edges: []float64{float64(k) - 8, float64(k) - 4, float64(k), float64(k) + 4, float64(k) + 8}, Min: float64(k) - 12, Max: float64(k) + 12})
	}
	for k := range category {
		n := fmt.Sprintf("c%d", k)
		cnames, cvalues = append(cnames, "'"+n+"'"), append(cvalues, "toNullable(toString("+n+"))")
		cols = append(cols, n+" String")
		gen = append(gen, fmt.Sprintf("concat('v', toString(cityHash64(number, %d) %% %d))", k, 10+20*k))
		var cats []string
		for v := range 20 {
			cats = append(cats, fmt.Sprintf("v%d", v))
		}
		binnings = append(binnings, Binning{Column: Column{Name: n}, Categories: cats, Seen: cats})
	}
	stmts := []string{
		"DROP DATABASE IF EXISTS " + db, "CREATE DATABASE " + db,
		"CREATE TABLE " + db + ".predictions (ts DateTime, request_id String, model String, " + strings.Join(cols, ", ") +
			") ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (model, ts)",
	}
	for _, s := range sqlStatements(b, "../../deploy/clickhouse/preaggregate.sql") {
		if strings.HasPrefix(s, "CREATE TABLE") {
			stmts = append(stmts, strings.Replace(s, "mlmon_feature_aggregates", db+".mlmon_feature_aggregates", 1))
		}
	}
	interval := "toDateTime(intDiv(toUInt32(ts), 60) * 60) AS interval_start, countState() AS rows"
	stmts = append(stmts,
		"CREATE MATERIALIZED VIEW "+db+".numeric TO "+db+".mlmon_feature_aggregates AS SELECT model, feature, "+interval+
			", sumState(toUInt64(isFinite(value))) AS present, quantilesTDigestStateIf(0.5)(value, isFinite(value)) AS sketch"+
			", minStateIf(value, isFinite(value)) AS min_value, maxStateIf(value, isFinite(value)) AS max_value"+
			", sumMapStateIf([toUInt64(0)], [toUInt64(0)], 0) AS categories FROM "+db+".predictions ARRAY JOIN ["+
			strings.Join(names, ", ")+"] AS feature, ["+strings.Join(values, ", ")+"] AS value GROUP BY model, feature, interval_start",
		"CREATE MATERIALIZED VIEW "+db+".categorical TO "+db+".mlmon_feature_aggregates AS SELECT model, feature, "+interval+
			", sumState(toUInt64(isNotNull(value))) AS present, quantilesTDigestStateIf(0.5)(toFloat64(0), 0) AS sketch"+
			", minStateIf(toFloat64(0), 0) AS min_value, maxStateIf(toFloat64(0), 0) AS max_value"+
			", sumMapStateIf([cityHash64(ifNull(value, ''))], [toUInt64(1)], isNotNull(value)) AS categories FROM "+db+
			".predictions ARRAY JOIN ["+strings.Join(cnames, ", ")+"] AS feature, ["+strings.Join(cvalues, ", ")+
			"] AS value GROUP BY model, feature, interval_start",
		fmt.Sprintf("INSERT INTO %s.predictions SELECT toDateTime(%d + intDiv(number * 86400, %d)), toString(number), 'm', %s FROM numbers(%d)",
			db, start, rows, strings.Join(gen, ", "), rows),
		"OPTIMIZE TABLE "+db+".mlmon_feature_aggregates FINAL",
	)
	seeded := time.Now()
	if err := server.Exec(ctx, stmts...); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d rows through the views in %s", rows, time.Since(seeded).Round(time.Second))

	cfg, err := config.Parse([]byte("clickhouse: {addr: [\"" + server.Addr() + "\"], query_timeout: 10m}\nmodels: [{name: m, task: regression, predictions: {table: t, timestamp: ts, id: id, prediction: p}}]\n"))
	if err != nil {
		b.Fatal(err)
	}
	c, err := Open(cfg.ClickHouse, promslog.NewNopLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var read atomic.Uint64
	c.Observe(func(_, _ string, cost Cost, _ error) { read.Add(cost.Rows) })
	m := &config.Model{Name: "m",
		Predictions:   config.Predictions{Table: db + ".predictions", Timestamp: "ts", ID: "request_id", ModelColumn: "model", Prediction: "c0"},
		Preaggregated: &config.Preaggregated{Table: db + ".mlmon_feature_aggregates", Interval: time.Minute}}
	w := Window{From: time.Unix(start, 0), To: time.Unix(start+86400, 0)}
	for _, mode := range []string{"full_scan", "preaggregated"} {
		b.Run(mode, func(b *testing.B) {
			read.Store(0)
			var ws WindowStats
			for b.Loop() {
				if mode == "full_scan" {
					ws, err = c.Window(ctx, m, Source{Window: w}, binnings, "drift")
				} else {
					ws, err = c.PreaggregatedWindow(ctx, m, w, binnings, "drift")
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			if ws.Rows != rows {
				b.Fatalf("%d rows in the window, want %d", ws.Rows, rows)
			}
			b.ReportMetric(float64(read.Load())/float64(b.N), "rows_read/op")
		})
	}
}

func TestAllListed(t *testing.T) {
	names := []string{"ts", "latency_ms", "prediction"}
	if err := allListed(names, []uint64{0, 0, 0}); err != nil {
		t.Errorf("no aggregates at all (a model without predictions): %v, want no error", err)
	}
	if err := allListed(names, []uint64{60, 60, 60}); err != nil {
		t.Errorf("every column listed: %v", err)
	}
	err := allListed(names, []uint64{60, 0, 60})
	if err == nil || !strings.Contains(err.Error(), "latency_ms") {
		t.Errorf("latency not listed: %v, want an error naming latency_ms", err)
	}
	if err := allListed(names, []uint64{60}); err == nil {
		t.Error("fewer counts than columns: no error")
	}
}
