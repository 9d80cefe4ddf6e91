package chquery

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
)

func TestQuoting(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		table    bool
		err      bool
	}{
		{in: "ts", want: "`ts`"},
		{in: "_x9", want: "`_x9`"},
		{in: "db.preds", want: "`db`.`preds`", table: true},
		{in: "db.preds", err: true},
		{in: "a.b.c", table: true, err: true},
		{in: "x`; DROP TABLE t; --", err: true},
		{in: "x`; DROP TABLE t; --", table: true, err: true},
		{in: "9lives", err: true},
		{in: "", err: true},
		{in: "naïve", err: true},
	} {
		quote := quoteIdent
		if tc.table {
			quote = quoteTable
		}
		got, err := quote(tc.in)
		if (err != nil) != tc.err || got != tc.want && !tc.err {
			t.Errorf("quote(%q, table=%v) = %q, %v; want %q, error %v", tc.in, tc.table, got, err, tc.want, tc.err)
		}
	}
}

func testModel() *config.Model {
	return &config.Model{
		Name:          `evil' OR 1=1 -- \`,
		Task:          config.TaskBinary,
		PositiveClass: `1'); DROP TABLE x; --`,
		Predictions: config.Predictions{Table: "db.preds", Timestamp: "ts", ID: "request_id", ModelColumn: "model",
			VersionColumn: "ver", Prediction: "pred", Score: "score", Latency: "lat", Error: "err"},
		GroundTruth: &config.GroundTruth{Table: "labels", ID: "request_id", Label: "label", Timestamp: "lts"},
	}
}

// Every builder must bind values: the hostile model name and positive class
// appear among the arguments, never in the SQL text, and the placeholders
// match the arguments one to one.
func TestBuildersBindValues(t *testing.T) {
	m := testModel()
	w := Window{From: time.Unix(1_700_000_000, 0), To: time.Unix(1_700_003_600, 0)}
	cols := []Binning{
		{Column: Column{Name: "age", Numeric: true}, Edges: []float64{1.5, 2}, Min: 0, Max: 3},
		{Column: Column{Name: "plan"}, Categories: []string{"basic'", `pro\`}, Seen: []string{"basic'", `pro\`, "x"}},
		{Column: Column{Name: "empty"}, Categories: []string{}, Seen: []string{}},
	}
	build := map[string]func() (Query, error){
		"operations":     func() (Query, error) { return OperationsQuery(m, w, w, false) },
		"classification": func() (Query, error) { return ClassificationQuery(m, Source{Window: w}) },
		"classification by name": func() (Query, error) {
			return ClassificationByNameQuery(m, Source{Window: w})
		},
		"label names": func() (Query, error) { return LabelNamesQuery(m, Source{Window: w}, []uint64{1, 2}) },
		"regression":  func() (Query, error) { return RegressionQuery(m, Source{Window: w}) },
		"profile": func() (Query, error) {
			return ProfileQuery(m, Source{Window: w}, []Column{{Name: "age", Numeric: true}, {Name: "plan"}}, 10)
		},
		"categories":   func() (Query, error) { return CategoriesQuery(m, Source{Window: w}, "plan", 5) },
		"window":       func() (Query, error) { return WindowQuery(m, Source{Window: w}, cols) },
		"window table": func() (Query, error) { return WindowQuery(m, Source{Table: "train.set"}, cols) },
		"grid": func() (Query, error) {
			q, _, err := GridQuery(m, Source{Window: w}, cols)
			return q, err
		},
	}
	for name, fn := range build {
		t.Run(name, func(t *testing.T) {
			q, err := fn()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(q.SQL, "evil") || strings.Contains(q.SQL, "DROP") || strings.Contains(q.SQL, "basic") {
				t.Errorf("a value was spliced into the SQL:\n%s", q.SQL)
			}
			if n := strings.Count(q.SQL, "?"); n != len(q.Args) {
				t.Errorf("%d placeholders for %d args:\n%s\n%v", n, len(q.Args), q.SQL, q.Args)
			}
			// The label names are read by time alone: the labels table has
			// no model column.
			if name != "window table" && name != "label names" && !containsArg(q.Args, m.Name) {
				t.Errorf("model name not bound: %v", q.Args)
			}
		})
	}
}

func containsArg(args []any, v any) bool {
	for _, a := range args {
		if a == v {
			return true
		}
	}
	return false
}

func TestBuildersRejectInvalidIdentifiers(t *testing.T) {
	m := testModel()
	m.Predictions.Latency = "lat; DROP TABLE x"
	if _, err := OperationsQuery(m, Window{}, Window{}, false); err == nil || !strings.Contains(err.Error(), "lat; DROP TABLE x") {
		t.Errorf("want an error naming the identifier, got %v", err)
	}
	m = testModel()
	m.GroundTruth.Table = "a.b.c"
	if _, err := ClassificationQuery(m, Source{}); err == nil {
		t.Error("invalid ground truth table accepted")
	}
	if _, err := WindowQuery(testModel(), Source{}, []Binning{{Column: Column{Name: "x y"}}}); err == nil {
		t.Error("invalid feature column accepted")
	}
}

// Reference categories are hashed into the SQL, never spliced; only the
// model and the window are bound.
func TestWindowArgsFollowSQLOrder(t *testing.T) {
	m := testModel()
	w := Window{From: time.Unix(100, 0), To: time.Unix(200, 0)}
	q, err := WindowQuery(m, Source{Window: w}, []Binning{{Column: Column{Name: "plan"}, Categories: []string{"a'"}, Seen: []string{"a'", "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{m.Name, int64(100), int64(200)}
	if !slices.Equal(q.Args, want) {
		t.Errorf("args %v, want %v", q.Args, want)
	}
	if strings.Contains(q.SQL, "a'") {
		t.Errorf("a category was spliced into the SQL:\n%s", q.SQL)
	}
}

func TestFloatLit(t *testing.T) {
	for in, want := range map[float64]string{
		5e-324: "toFloat64(1 * 2.2227587494850775e-162 * 2.2227587494850775e-162)",
		0.1:    "0.1", -2e-300: "-2e-300", 16: "16.0", -5: "-5.0", 1e6: "1e+06", math.Copysign(0, -1): "-0.0",
		math.NaN(): "nan", math.Inf(1): "inf", math.Inf(-1): "-inf",
	} {
		if got := floatLit(in); got != want {
			t.Errorf("floatLit(%v) = %s, want %s", in, got, want)
		}
	}
}

// The server reads each literal floatLit writes as a Float64 (an integral
// one as well, which would otherwise be an integer and compare on another
// path) holding exactly the value's bits.
func TestFloatLitOnTheServer(t *testing.T) {
	values := []float64{0.1, 16, -5, 0, math.Copysign(0, -1), 1e6, 1e21, -2e-300, 5e-324, 0x1p-1022, math.MaxFloat64,
		-math.MaxFloat64, 90.14900000000002, math.Nextafter(99.99, 100), 1.0 / 3}
	for _, v := range values {
		var typ, raw string
		row := server.Conn().QueryRow(context.Background(), "SELECT toTypeName("+floatLit(v)+"), reinterpretAsString("+floatLit(v)+")")
		if err := row.Scan(&typ, &raw); err != nil {
			t.Fatalf("%s: %v", floatLit(v), err)
		}
		// reinterpretAsString drops trailing zero bytes.
		want := string(bytes.TrimRight(binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)), "\x00"))
		if typ != "Float64" || raw != want {
			t.Errorf("%s: the server reads %s %x, want Float64 %x", floatLit(v), typ, raw, want)
		}
	}
}

func TestSampling(t *testing.T) {
	m := testModel()
	w := Window{From: time.Unix(100, 0), To: time.Unix(200, 0)}
	cols := []Binning{{Column: Column{Name: "age", Numeric: true}}}
	for _, tc := range []struct {
		s         Sampling
		want, not []string
	}{
		{Sampling{}, nil, []string{"SAMPLE", "% 1000000"}},
		{Sampling{Ratio: 1, Clause: true}, nil, []string{"SAMPLE", "% 1000000"}},
		{Sampling{Ratio: 0.25, Clause: true}, []string{"FROM `db`.`preds` SAMPLE 0.25 WHERE"}, []string{"% 1000000"}},
		{Sampling{Ratio: 0.25}, []string{"AND cityHash64(`request_id`) % 1000000 < 250000"}, []string{"SAMPLE"}},
	} {
		for name, build := range map[string]func() (Query, error){
			"window":         func() (Query, error) { return WindowQuery(m, Source{Window: w, Sampling: tc.s}, cols) },
			"classification": func() (Query, error) { return ClassificationQuery(m, Source{Window: w, Sampling: tc.s}) },
			"grid": func() (Query, error) {
				q, _, err := GridQuery(m, Source{Window: w, Sampling: tc.s}, cols)
				return q, err
			},
		} {
			q, err := build()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.want {
				if !strings.Contains(q.SQL, s) {
					t.Errorf("%s %+v: SQL lacks %q:\n%s", name, tc.s, s, q.SQL)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(q.SQL, s) {
					t.Errorf("%s %+v: SQL has %q:\n%s", name, tc.s, s, q.SQL)
				}
			}
		}
	}
}

func TestIsNumericType(t *testing.T) {
	for typ, want := range map[string]bool{
		"Float64": true, "Nullable(Float32)": true, "UInt8": true, "Int256": true,
		"Decimal(18, 4)": true, "LowCardinality(Nullable(Int32))": true, "Bool": true,
		"String": false, "Nullable(String)": false, "LowCardinality(String)": false,
		"DateTime": false, "Array(Float64)": false, "Enum8('a' = 1)": false, "UUID": false,
	} {
		if got := IsNumericType(typ); got != want {
			t.Errorf("IsNumericType(%q) = %v, want %v", typ, got, want)
		}
	}
}

func TestFoldWindow(t *testing.T) {
	cols := []Binning{
		{Column: Column{Name: "x", Numeric: true}, Edges: []float64{1, 2}},
		{Column: Column{Name: "c"}, Categories: []string{"a", "b"}, Seen: []string{"a", "b", "z"}},
	}
	// Three bins each. A numeric column's states are 0 missing and 1 + s,
	// s = [x ≥ min] + #{edges ≤ x} + [x > max] (0…4 here); a categorical
	// column's 1 + 2·bin + flag (up to 7), so every column owns 7 keys:
	// column 0 starts at key 7, column 1 at 14; key 0 counts rows.
	keys := []uint64{0, 7, 8, 9, 12, 17, 16, 15, 19, 11}
	counts := []uint64{31, 2, 1, 3, 5, 4, 6, 1, 9, 7}
	ws, err := FoldWindow(cols, keys, counts)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Rows != 31 {
		t.Errorf("rows %d, want 31", ws.Rows)
	}
	x, c := ws.Columns[0], ws.Columns[1]
	// x: 2 missing (key 7); below the first edge, 1 below the range (s = 0)
	// and 3 inside it (s = 1); at or above the last edge, 7 inside the range
	// (s = 3) and 5 above it (s = 4).
	if !slices.Equal(x.Bins, []uint64{4, 0, 12}) || x.Missing != 2 || x.OutOfRange != 6 {
		t.Errorf("numeric: %+v", x)
	}
	// c: 4 "a", 9 "b", 6 unseen others and 1 seen other ("z", last bin).
	if !slices.Equal(c.Bins, []uint64{4, 9, 7}) || c.Missing != 0 || c.Unseen != 6 {
		t.Errorf("categorical: %+v", c)
	}
	// An empty window has no groups at all.
	ws, err = FoldWindow(cols, nil, nil)
	if err != nil || ws.Rows != 0 || !slices.Equal(ws.Columns[0].Bins, []uint64{0, 0, 0}) || !slices.Equal(ws.Columns[1].Bins, []uint64{0, 0, 0}) {
		t.Errorf("empty: %+v %v", ws, err)
	}
	// With one edge, x has two bins (s in 0…3) but still owns 7 keys: 12
	// (s = 4) is not one of its states.
	cols[0].Edges = []float64{1}
	for _, bad := range []struct {
		keys, counts []uint64
	}{
		{[]uint64{12}, []uint64{1}},
		{[]uint64{21}, []uint64{1}}, // a third column
		{[]uint64{0, 8}, []uint64{1}},
	} {
		if _, err := FoldWindow(cols, bad.keys, bad.counts); err == nil {
			t.Errorf("keys %v counts %v accepted", bad.keys, bad.counts)
		}
	}
}

func TestFoldScoredWindow(t *testing.T) {
	// One numeric column of two bins: 5 keys each (stride 5), so the
	// column owns 5…9 and the score histogram starts at 10: 10 unscored,
	// 11 + b predicted negative, 11 + 1001 + b predicted positive.
	cols := []Binning{{Column: Column{Name: "x", Numeric: true}, Edges: []float64{1}}}
	keys := []uint64{0, 7, 10, 11, 11 + 500, 11 + 1000, 11 + 1001, 11 + 1001 + 1000}
	counts := []uint64{9, 9, 2, 3, 4, 5, 6, 7}
	ws, err := FoldScoredWindow(cols, keys, counts)
	if err != nil {
		t.Fatal(err)
	}
	h := ws.Scores
	if h.Unscored != 2 || h.PredictedNegative[0] != 3 || h.PredictedNegative[500] != 4 || h.PredictedNegative[1000] != 5 ||
		h.PredictedPositive[0] != 6 || h.PredictedPositive[1000] != 7 || h.Scored() != 25 {
		t.Errorf("histogram %+v", h)
	}
	b := h.Buckets()
	if len(b) != 3 || b[1].Score != 0.5 || b[1].PredictedNegative != 4 || b[2].Score != 1 || b[2].PredictedPositive != 7 || b[2].PredictedNegative != 5 {
		t.Errorf("buckets %+v", b)
	}
	if _, err := FoldScoredWindow(cols, []uint64{11 + 2002}, []uint64{1}); err == nil {
		t.Error("a key beyond the histogram was accepted")
	}
	if _, err := FoldWindow(cols, []uint64{10}, []uint64{1}); err == nil {
		t.Error("a score key was accepted without scores")
	}
}
