package compat

import (
	"math"
	"strings"
	"testing"
)

// A JSONCompact answer as chDB writes it with the settings Result needs.
const sampleJSON = `{
	"meta": [
		{"name": "n", "type": "UInt64"}, {"name": "i", "type": "Int32"}, {"name": "f", "type": "Float64"},
		{"name": "g", "type": "Float32"}, {"name": "s", "type": "Nullable(String)"}, {"name": "q", "type": "Array(Float64)"},
		{"name": "t", "type": "DateTime"}, {"name": "l", "type": "LowCardinality(String)"}, {"name": "b", "type": "Bool"}
	],
	"data": [
		[18446744073709551615, -3, "nan", 0.1, null, ["inf", "-inf", 0.30000000000000004], "2026-06-01 12:00:00", "x", true],
		[0, 7, 1e-320, 1.5, "it's", [], "1970-01-01 00:00:00", "", false]
	],
	"rows": 2,
	"statistics": {"elapsed": 0.001, "rows_read": 2, "bytes_read": 16}
}`

func TestParseJSONCompact(t *testing.T) {
	r, err := ParseJSONCompact([]byte(sampleJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Columns) != 9 || r.Columns[4] != (Column{"s", "Nullable(String)"}) {
		t.Fatalf("columns %v", r.Columns)
	}
	row := r.Rows[0]
	if row[0] != Int("18446744073709551615") || row[1] != Int("-3") || !math.IsNaN(row[2].(float64)) ||
		row[3] != float64(float32(0.1)) || row[4] != nil || row[6] != Int("1780315200") || row[7] != "x" || row[8] != Int("1") {
		t.Errorf("row 1 = %s", formatRow(row))
	}
	if q := row[5].([]any); !math.IsInf(q[0].(float64), 1) || !math.IsInf(q[1].(float64), -1) || q[2] != 0.30000000000000004 {
		t.Errorf("array = %s", Format(row[5]))
	}
	if row := r.Rows[1]; row[2] != 1e-320 || row[4] != "it's" || len(row[5].([]any)) != 0 || row[6] != Int("0") {
		t.Errorf("row 2 = %s", formatRow(row))
	}
	if n, err := r.Rows[0][0].(Int).Uint64(); err != nil || n != math.MaxUint64 {
		t.Errorf("Uint64() = %d, %v", n, err)
	}
	if empty, err := ParseJSONCompact(nil); err != nil || len(empty.Rows) != 0 {
		t.Errorf("empty output: %v, %v", empty, err)
	}
}

func TestParseJSONCompactRefusesWhatItCannotReadExactly(t *testing.T) {
	for _, doc := range []string{
		`{"meta": [{"name": "n", "type": "UInt64"}], "data": [["18446744073709551615"]]}`, // quoted 64-bit integers
		`{"meta": [{"name": "f", "type": "Float64"}], "data": [[null]]}`,                  // NaN written as null
		`{"meta": [{"name": "x", "type": "Map(String, UInt8)"}], "data": [[{}]]}`,
		`{"meta": [{"name": "n", "type": "UInt8"}], "data": [[1, 2]]}`,
		`{"meta": [{"name": "n", "type": "UInt8"}], "data": [[1]], "rows": 2}`,
	} {
		if _, err := ParseJSONCompact([]byte(doc)); err == nil {
			t.Errorf("no error for %s", doc)
		}
	}
}

func TestCompare(t *testing.T) {
	cols := []Column{{"k", "String"}, {"n", "UInt64"}, {"x", "Float64"}, {"q", "Array(Float64)"}}
	a := &Result{Columns: cols, Rows: [][]any{
		{"a", Int("1"), 0.30000000000000004, []any{1.0, math.NaN()}},
		{"b", Int("2"), 1e300, []any{}},
	}}
	// The same rows in another order, floats off in the last bit.
	b := &Result{Columns: cols, Rows: [][]any{
		{"b", Int("2"), 1e300 * (1 + 1e-15), []any{}},
		{"a", Int("1"), 0.3, []any{1.0, math.NaN()}},
	}}
	tol := Tolerance{Rel: 1e-9}
	if c := Compare(a, b, tol, true); len(c.Differences) != 0 || len(c.Inexact) != 2 {
		t.Errorf("sorted: %+v", c)
	}
	if c := Compare(a, b, tol, false); len(c.Differences) == 0 {
		t.Error("unsorted rows in another order compared equal")
	}
	if c := Compare(a, b, Tolerance{}, true); len(c.Differences) != 2 {
		t.Errorf("exact: %+v", c)
	}

	c2 := &Result{Columns: cols, Rows: [][]any{
		{"a", Int("1"), 0.3, []any{1.0, 2.0}},
		{"c", Int("2"), 1e300, []any{}},
	}}
	c := Compare(a, c2, tol, true)
	want := []string{`row "b"|2|[] only in the first (1×)`, `row "c"|2|[] only in the second (1×)`}
	if strings.Join(c.Differences, "\n") != strings.Join(want, "\n") {
		t.Errorf("row sets: %q, want %q", c.Differences, want)
	}
	c2.Rows[1][0] = "b"
	if c := Compare(a, c2, tol, true); len(c.Differences) != 1 || !strings.Contains(c.Differences[0], "[1,NaN] vs [1,2]") {
		t.Errorf("array: %q", c.Differences)
	}

	typed := &Result{Columns: []Column{{"k", "String"}, {"n", "Int64"}, {"x", "Float64"}, {"q", "Array(Float64)"}}, Rows: a.Rows}
	if c := Compare(a, typed, tol, true); len(c.Differences) != 1 || !strings.Contains(c.Differences[0], "type UInt64 vs Int64") {
		t.Errorf("types: %q", c.Differences)
	}
	renamed := &Result{Columns: []Column{{"key", "String"}, {"n", "UInt64"}, {"x", "Float64"}, {"q", "Array(Float64)"}}, Rows: a.Rows}
	if c := Compare(a, renamed, tol, true); len(c.Differences) != 0 || len(c.Names) != 1 {
		t.Errorf("names: %+v", c)
	}
}

func TestFloatsAgree(t *testing.T) {
	tol := Tolerance{Rel: 1e-9}
	for _, tc := range []struct {
		a, b float64
		want bool
	}{
		{1, 1 + 1e-12, true}, {1, 1 + 1e-8, false}, {0, 1e-300, false}, {0, 0, true},
		{math.NaN(), math.NaN(), true}, {math.NaN(), 0, false},
		{math.Inf(1), math.Inf(1), true}, {math.Inf(1), math.MaxFloat64, false}, {math.Inf(1), math.Inf(-1), false},
	} {
		if got := tol.FloatsAgree(tc.a, tc.b); got != tc.want {
			t.Errorf("FloatsAgree(%g, %g) = %v", tc.a, tc.b, got)
		}
	}
}

func formatRow(row []any) string {
	parts := make([]string, len(row))
	for i, v := range row {
		parts[i] = Format(v)
	}
	return strings.Join(parts, " | ")
}
