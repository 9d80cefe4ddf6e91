package chquery

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
)

var server *chtest.Server

func TestMain(m *testing.M) { chtest.Main(m, &server) }

func testClient(t testing.TB) *Client {
	t.Helper()
	return clientOf(t, server.Addr())
}

// clientOf is a client of the server at addr with the default settings,
// closed when the test ends.
func clientOf(t testing.TB, addr string) *Client {
	t.Helper()
	cfg, err := config.Parse([]byte("clickhouse: {addr: [\"" + addr + "\"]}\nmodels: [{name: m, task: regression, predictions: {table: t, timestamp: ts, id: id, prediction: p}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(cfg.ClickHouse, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The connection is read-only whatever the user may do: a statement that
// writes is refused by the server.
func TestClientIsReadOnly(t *testing.T) {
	c := testClient(t)
	for _, stmt := range []string{
		"CREATE TABLE ro_probe (x UInt8) ENGINE = Memory",
		"DROP TABLE IF EXISTS system_numbers_copy",
	} {
		err := c.QueryRows(context.Background(), "m", Query{Name: "probe", SQL: stmt}, func(func(...any) error) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "readonly") {
			t.Errorf("%s: want a readonly refusal, got %v", stmt, err)
		}
	}
}

// A hostile model name is a bound value: it selects no row of another model
// and cannot change the query.
func TestHostileModelNameIsBound(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS shared (ts DateTime, id String, model String, p Float64) ENGINE = MergeTree ORDER BY ts",
		"INSERT INTO shared SELECT toDateTime(1700000000) + number, toString(number), 'victim', 1 FROM numbers(10)",
	); err != nil {
		t.Fatal(err)
	}
	c := testClient(t)
	w := Window{From: time.Unix(1699990000, 0), To: time.Unix(1700010000, 0)}
	for name, want := range map[string]uint64{
		"victim":                         10,
		"x' OR '1'='1":                   0,
		`x\' OR 1=1 --`:                  0,
		"victim' UNION ALL SELECT 1 -- ": 0,
		"victim\x00":                     0,
	} {
		m := &config.Model{Name: name, Task: config.TaskRegression,
			Predictions: config.Predictions{Table: "shared", Timestamp: "ts", ID: "id", ModelColumn: "model", Prediction: "p"}}
		ops, err := c.Operations(ctx, m, w, w)
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		if ops.Predictions != want {
			t.Errorf("model %q matched %d rows, want %d", name, ops.Predictions, want)
		}
	}
}

// Categories are matched by their cityHash64, computed by the exporter: the
// two must agree with the server's for every string a category may hold,
// or rows would fall into the wrong bin.
func TestWindowBinsCategoriesByTheServersHash(t *testing.T) {
	ctx := context.Background()
	odd := []string{"", "o'hare", `c:\dir`, "nul\x00byte", "tab\there", "ünïcödé", "?", strings.Repeat("long ", 30)}
	if err := server.Exec(ctx, "CREATE TABLE IF NOT EXISTS cats (ts DateTime, id String, c Nullable(String)) ENGINE = MergeTree ORDER BY ts"); err != nil {
		t.Fatal(err)
	}
	batch, err := server.Conn().PrepareBatch(ctx, "INSERT INTO cats (ts, id, c)")
	if err != nil {
		t.Fatal(err)
	}
	// Value i of odd appears i+1 times; then 3 NULLs and 2 values the
	// reference never had.
	rows := []*string{nil, nil, nil}
	for i := range odd {
		for range i + 1 {
			rows = append(rows, &odd[i])
		}
	}
	for _, v := range []string{"new", "newer"} {
		rows = append(rows, &v)
	}
	for i, v := range rows {
		if err := batch.Append(time.Unix(1700000000, 0), strconv.Itoa(i), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	c := testClient(t)
	m := &config.Model{Name: "m", Task: config.TaskRegression, Predictions: config.Predictions{Table: "cats", Timestamp: "ts", ID: "id", Prediction: "c"}}
	w := Window{From: time.Unix(1700000000, 0), To: time.Unix(1700000001, 0)}
	// The first four are top categories; all of odd was seen.
	b := Binning{Column: Column{Name: "c"}, Categories: odd[:4], Seen: odd}
	ws, err := c.Window(ctx, m, Source{Window: w}, []Binning{b}, "drift")
	if err != nil {
		t.Fatal(err)
	}
	// other = values 4…7 of odd (5+6+7+8 rows) and the 2 unseen.
	want := []uint64{1, 2, 3, 4, 5 + 6 + 7 + 8 + 2}
	got := ws.Columns[0]
	if ws.Rows != uint64(len(rows)) || !slices.Equal(got.Bins, want) || got.Missing != 3 || got.Unseen != 2 {
		t.Errorf("rows %d, bins %v, missing %d, unseen %d; want %d, %v, 3, 2", ws.Rows, got.Bins, got.Missing, got.Unseen, len(rows), want)
	}
}

// Numeric values are binned by comparisons alone: every boundary lands where
// the definitions put it (x = edge opens the next bin, x = min and x = max
// are inside the range) and NULL, NaN and ±Inf are missing, on a real
// server, for a Nullable column and for a reference without a range.
func TestWindowBinsNumbersAtTheBoundaries(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx, "CREATE TABLE IF NOT EXISTS bounds (ts DateTime, id String, x Nullable(Float64)) ENGINE = MergeTree ORDER BY ts"); err != nil {
		t.Fatal(err)
	}
	batch, err := server.Conn().PrepareBatch(ctx, "INSERT INTO bounds (ts, id, x)")
	if err != nil {
		t.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	values := []*float64{nil, f(math.NaN()), f(math.Inf(1)), f(math.Inf(-1)),
		f(-1), f(0), f(0.5), f(1), f(1.5), f(math.Nextafter(2, 0)), f(2), f(3), f(math.Nextafter(3, 4)), f(3.5)}
	for i, v := range values {
		if err := batch.Append(time.Unix(1700000000, 0), strconv.Itoa(i), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	c := testClient(t)
	m := &config.Model{Name: "m", Task: config.TaskRegression, Predictions: config.Predictions{Table: "bounds", Timestamp: "ts", ID: "id", Prediction: "x"}}
	w := Window{From: time.Unix(1700000000, 0), To: time.Unix(1700000001, 0)}
	for _, tc := range []struct {
		name       string
		bin        Binning
		bins       []uint64
		outOfRange uint64
	}{
		// (−∞,1): −1, 0, 0.5; [1,2): 1, 1.5, 2⁻; [2,∞): 2, 3, 3⁺, 3.5.
		// Outside [0, 3]: −1, 3⁺ and 3.5.
		{"range", Binning{Edges: []float64{1, 2}, Min: 0, Max: 3}, []uint64{3, 3, 4}, 3},
		{"no range", Binning{Edges: []float64{1, 2}, Min: math.NaN(), Max: math.NaN()}, []uint64{3, 3, 4}, 0},
		{"one bin", Binning{Min: 0, Max: 3}, []uint64{10}, 3},
		// An edge a rounding error outside the range still bins exactly.
		{"edge beyond max", Binning{Edges: []float64{1, 3.25}, Min: 0, Max: 3}, []uint64{3, 6, 1}, 2},
	} {
		tc.bin.Column = Column{Name: "x", Numeric: true}
		ws, err := c.Window(ctx, m, Source{Window: w}, []Binning{tc.bin}, "drift")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := ws.Columns[0]
		if ws.Rows != uint64(len(values)) || got.Missing != 4 || !slices.Equal(got.Bins, tc.bins) || got.OutOfRange != tc.outOfRange {
			t.Errorf("%s: rows %d, missing %d, bins %v, out of range %d; want %d, 4, %v, %d",
				tc.name, ws.Rows, got.Missing, got.Bins, got.OutOfRange, len(values), tc.bins, tc.outOfRange)
		}
	}
}

// Many categorical columns with long category lists: the keys outgrow 16
// bits and the SQL outgrows ClickHouse's default max_query_size (256 KiB),
// and every column still counts its categories exactly.
func TestWindowWithManyWideCategoricalColumns(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS widecats (ts DateTime, id String, c String) ENGINE = MergeTree ORDER BY ts",
		"TRUNCATE TABLE widecats",
		"INSERT INTO widecats SELECT toDateTime(1700000000), toString(number), concat('v', toString(number % 1200)) FROM numbers(2400)",
	); err != nil {
		t.Fatal(err)
	}
	// Values v0…v999 are categories, v1000…v1199 are not: 2 rows each.
	cats := make([]string, 1000)
	for i := range cats {
		cats[i] = "v" + strconv.Itoa(i)
	}
	cols := make([]Binning, 40)
	for i := range cols {
		cols[i] = Binning{Column: Column{Name: "c"}, Categories: cats, Seen: cats}
	}
	m := &config.Model{Name: "m", Task: config.TaskRegression, Predictions: config.Predictions{Table: "widecats", Timestamp: "ts", ID: "id", Prediction: "c"}}
	src := Source{Window: Window{From: time.Unix(1700000000, 0), To: time.Unix(1700000001, 0)}}
	q, err := WindowQuery(m, src, cols)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.SQL) <= 256<<10 || stateStride(cols)*uint64(len(cols)+1) <= math.MaxUint16 {
		t.Fatalf("the query is %d bytes with keys up to %d: not the case under test", len(q.SQL), stateStride(cols)*uint64(len(cols)+1))
	}
	ws, err := testClient(t).Window(ctx, m, src, cols, "drift")
	if err != nil {
		t.Fatal(err)
	}
	for i, col := range ws.Columns {
		for k, n := range col.Bins[:1000] {
			if n != 2 {
				t.Fatalf("column %d: category v%d has %d rows, want 2", i, k, n)
			}
		}
		if other := col.Bins[1000]; other != 400 || col.Unseen != 400 {
			t.Errorf("column %d: %d other and %d unseen rows, want 400 and 400", i, other, col.Unseen)
		}
	}
}

// The score histogram rides in the window's pass: every row lands in the
// bucket of its score rounded to 1/ScoreBuckets (clamped to [0, 1]) under
// its predicted class, rows without a finite score are counted apart, and
// the columns' bins are what they are without it.
func TestWindowScoreHistogram(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"CREATE TABLE IF NOT EXISTS scored (ts DateTime, id String, pred Nullable(String), score Nullable(Float64), x Float64) ENGINE = MergeTree ORDER BY ts",
	); err != nil {
		t.Fatal(err)
	}
	batch, err := server.Conn().PrepareBatch(ctx, "INSERT INTO scored (ts, id, pred, score, x)")
	if err != nil {
		t.Fatal(err)
	}
	yes, no := "yes", "no"
	f := func(v float64) *float64 { return &v }
	rows := []struct {
		pred  *string
		score *float64
	}{
		{&yes, f(0.9)}, {&yes, f(0.9)}, {&yes, f(0.0004)}, // buckets 900, 900, 0
		{&yes, f(0.0005)}, {&yes, f(1.7)}, {&no, f(-3)}, // 1 (rounds half up), 1000 (clamped), 0 (clamped)
		{&no, f(0.1234)}, {nil, f(0.1236)}, {&no, nil}, // 123, 124 (NULL prediction: negative), unscored
		{&yes, f(math.NaN())}, {&yes, f(math.Inf(1))}, // unscored
	}
	for i, r := range rows {
		if err := batch.Append(time.Unix(1700000000, 0), strconv.Itoa(i), r.pred, r.score, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	m := &config.Model{Name: "m", Task: config.TaskBinary, PositiveClass: "yes",
		Predictions: config.Predictions{Table: "scored", Timestamp: "ts", ID: "id", Prediction: "pred", Score: "score"}}
	w := Window{From: time.Unix(1700000000, 0), To: time.Unix(1700000001, 0)}
	cols := []Binning{{Column: Column{Name: "x", Numeric: true}, Edges: []float64{5}, Min: 0, Max: 10}}
	c := testClient(t)
	plain, err := c.Window(ctx, m, Source{Window: w}, cols, "drift")
	if err != nil {
		t.Fatal(err)
	}
	if plain.Scores != nil {
		t.Errorf("scores without asking: %+v", plain.Scores)
	}
	ws, err := c.Window(ctx, m, Source{Window: w, Scores: true}, cols, "drift")
	if err != nil {
		t.Fatal(err)
	}
	if ws.Rows != 11 || !slices.Equal(ws.Columns[0].Bins, []uint64{5, 6}) || !slices.Equal(ws.Columns[0].Bins, plain.Columns[0].Bins) {
		t.Errorf("rows %d, bins %v (without scores %v), want 11, [5 6]", ws.Rows, ws.Columns[0].Bins, plain.Columns[0].Bins)
	}
	h := ws.Scores
	if h == nil {
		t.Fatal("no score histogram")
	}
	wantPos := map[int]uint64{900: 2, 0: 1, 1: 1, 1000: 1}
	wantNeg := map[int]uint64{0: 1, 123: 1, 124: 1}
	for b := 0; b <= ScoreBuckets; b++ {
		if h.PredictedPositive[b] != wantPos[b] || h.PredictedNegative[b] != wantNeg[b] {
			t.Errorf("bucket %d: %d positive, %d negative; want %d, %d", b, h.PredictedPositive[b], h.PredictedNegative[b], wantPos[b], wantNeg[b])
		}
	}
	if h.Unscored != 3 || h.Scored() != 8 {
		t.Errorf("unscored %d, scored %d; want 3, 8", h.Unscored, h.Scored())
	}
	if _, err := WindowQuery(m, Source{Table: "scored", Scores: true}, cols); err == nil {
		t.Error("a score histogram of a reference table was accepted")
	}
}

// The quantile grid runs beside the bins, not after them, and each numeric
// column still gets its own grid: the columns' values lie in disjoint
// ranges, so a grid given to the wrong column shows.
func TestWindowRunsTheGridBesideTheBins(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx,
		"DROP TABLE IF EXISTS beside",
		"CREATE TABLE beside (ts DateTime, id String, a Float64, c String, b Float64) ENGINE = MergeTree ORDER BY ts",
		// a in [0, 1), b in [100, 101): enough rows for each query to take
		// a while on one thread.
		"INSERT INTO beside SELECT toDateTime(1700000000) + intDiv(number, 1000), toString(number), (cityHash64(number) % 1000) / 1000, toString(number % 7), 100 + (cityHash64(number, 1) % 1000) / 1000 FROM numbers(2000000)",
	); err != nil {
		t.Fatal(err)
	}
	c := testClient(t)
	type span struct{ start, end time.Time }
	var mu sync.Mutex
	var spans []span
	c.Observe(func(model, query string, cost Cost, err error) {
		end := time.Now()
		if cost.Rows < 2_000_000 { // the table's engine, looked up first
			return
		}
		mu.Lock()
		spans = append(spans, span{end.Add(-cost.Duration), end})
		mu.Unlock()
	})
	m := &config.Model{Name: "m", Task: config.TaskRegression, Predictions: config.Predictions{Table: "beside", Timestamp: "ts", ID: "id", Prediction: "a"}}
	w := Window{From: time.Unix(1700000000, 0), To: time.Unix(1700002000, 0)}
	cols := []Binning{
		{Column: Column{Name: "a", Numeric: true}, Edges: []float64{0.25, 0.5, 0.75}, Min: 0, Max: 1},
		{Column: Column{Name: "c"}, Categories: []string{"1", "2"}},
		{Column: Column{Name: "b", Numeric: true}, Edges: []float64{100.5}, Min: 100, Max: 101},
	}
	ws, err := c.Window(ctx, m, Source{Window: w}, cols, "drift")
	if err != nil {
		t.Fatal(err)
	}
	if ws.Rows != 2_000_000 {
		t.Fatalf("rows %d, want 2000000", ws.Rows)
	}
	for i, lo := range map[int]float64{0: 0, 2: 100} {
		g := ws.Columns[i].Grid
		if len(g) != len(WassersteinGrid) || !slices.IsSorted(g) || g[0] < lo || g[len(g)-1] >= lo+1 {
			t.Errorf("column %s: grid %v, want %d sorted quantiles in [%g, %g)", cols[i].Name, g, len(WassersteinGrid), lo, lo+1)
		}
	}
	if g := ws.Columns[1].Grid; g != nil {
		t.Errorf("categorical column: grid %v, want none", g)
	}
	if len(spans) != 2 {
		t.Fatalf("%d queries, want the bins and the grid", len(spans))
	}
	first, second := spans[0], spans[1]
	if second.start.Before(first.start) {
		first, second = second, first
	}
	if !second.start.Before(first.end) {
		t.Errorf("the second query started %s after the first ended: they ran one after the other", second.start.Sub(first.end))
	}
}
