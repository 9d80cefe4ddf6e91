package chquery

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
)

var server *chtest.Server

func TestMain(m *testing.M) { chtest.Main(m, &server) }

func testClient(t *testing.T) *Client {
	t.Helper()
	cfg, err := config.Parse([]byte("clickhouse: {addr: [\"" + server.Addr() + "\"]}\nmodels: [{name: m, task: regression, predictions: {table: t, timestamp: ts, id: id, prediction: p}}]\n"))
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
