package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Result is a query's output in a form both engines produce: column names
// and ClickHouse types, and rows of cells. A cell is nil (NULL), Int (any
// integer type, exact), float64 (Float32/Float64, NaN and ±Inf included),
// string, or []any (an array).
type Result struct {
	Columns []Column
	Rows    [][]any
}

// Column is one result column.
type Column struct {
	Name, Type string
}

// Int is an integer cell in decimal, so that UInt64 and Int64 values compare
// exactly whatever their size.
type Int string

// Uint64 returns the cell as a uint64.
func (i Int) Uint64() (uint64, error) { return strconv.ParseUint(string(i), 10, 64) }

// Int64 returns the cell as an int64.
func (i Int) Int64() (int64, error) { return strconv.ParseInt(string(i), 10, 64) }

// FromRows reads clickhouse-go rows into a Result, scanning every column into
// the Go type the driver reports for it.
func FromRows(rows driver.Rows) (*Result, error) {
	defer rows.Close()
	types := rows.ColumnTypes()
	res := &Result{}
	for _, ct := range types {
		res.Columns = append(res.Columns, Column{Name: ct.Name(), Type: ct.DatabaseTypeName()})
	}
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			v, err := fromGo(reflect.ValueOf(d).Elem())
			if err != nil {
				return nil, fmt.Errorf("column %s (%s): %w", res.Columns[i].Name, res.Columns[i].Type, err)
			}
			row[i] = v
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
}

var timeType = reflect.TypeOf(time.Time{})

func fromGo(v reflect.Value) (any, error) {
	if v.Type() == timeType {
		return Int(strconv.FormatInt(v.Interface().(time.Time).Unix(), 10)), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return fromGo(v.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Int(strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Int(strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		if v.Bool() {
			return Int("1"), nil
		}
		return Int("0"), nil
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			x, err := fromGo(v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported Go type %s", v.Type())
}

// ParseJSONCompact reads ClickHouse's JSONCompact output, written with
// output_format_json_quote_64bit_integers = 0 (integers as numbers) and
// output_format_json_quote_denormals = 1 (NaN and infinities as "nan",
// "inf", "-inf"). DateTime cells must be in UTC. An empty input (a statement
// without output) is an empty Result.
func ParseJSONCompact(data []byte) (*Result, error) {
	res := &Result{}
	if len(bytes.TrimSpace(data)) == 0 {
		return res, nil
	}
	var doc struct {
		Meta []Column `json:"meta"`
		Data [][]any  `json:"data"`
		Rows *int     `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("JSONCompact: %w", err)
	}
	res.Columns = doc.Meta
	for _, raw := range doc.Data {
		if len(raw) != len(doc.Meta) {
			return nil, fmt.Errorf("JSONCompact: a row of %d cells for %d columns", len(raw), len(doc.Meta))
		}
		row := make([]any, len(raw))
		for i, x := range raw {
			v, err := fromJSON(doc.Meta[i].Type, x)
			if err != nil {
				return nil, fmt.Errorf("JSONCompact column %s (%s): %w", doc.Meta[i].Name, doc.Meta[i].Type, err)
			}
			row[i] = v
		}
		res.Rows = append(res.Rows, row)
	}
	if doc.Rows != nil && *doc.Rows != len(res.Rows) {
		return nil, fmt.Errorf("JSONCompact: rows says %d, data holds %d", *doc.Rows, len(res.Rows))
	}
	return res, nil
}

func unwrap(typ, wrapper string) (string, bool) {
	if strings.HasPrefix(typ, wrapper+"(") && strings.HasSuffix(typ, ")") {
		return typ[len(wrapper)+1 : len(typ)-1], true
	}
	return typ, false
}

func fromJSON(typ string, x any) (any, error) {
	if inner, ok := unwrap(typ, "Nullable"); ok {
		if x == nil {
			return nil, nil
		}
		typ = inner
	}
	if inner, ok := unwrap(typ, "LowCardinality"); ok {
		return fromJSON(inner, x)
	}
	if inner, ok := unwrap(typ, "Array"); ok {
		xs, ok := x.([]any)
		if !ok {
			return nil, fmt.Errorf("want an array, got %T", x)
		}
		out := make([]any, len(xs))
		for i, e := range xs {
			v, err := fromJSON(inner, e)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	switch {
	case strings.HasPrefix(typ, "Int") || strings.HasPrefix(typ, "UInt"):
		n, ok := x.(json.Number)
		if !ok {
			return nil, fmt.Errorf("want a number, got %T %v (output_format_json_quote_64bit_integers must be 0)", x, x)
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			if _, err := strconv.ParseUint(string(n), 10, 64); err != nil {
				return nil, fmt.Errorf("not an integer: %s", n)
			}
		}
		return Int(n), nil
	case typ == "Float32" || typ == "Float64":
		switch x := x.(type) {
		case json.Number:
			bits := 64
			if typ == "Float32" {
				bits = 32 // shortest Float32 text: read it back as a Float32
			}
			return strconv.ParseFloat(string(x), bits)
		case string:
			switch x {
			case "nan", "-nan":
				return math.NaN(), nil
			case "inf", "+inf":
				return math.Inf(1), nil
			case "-inf":
				return math.Inf(-1), nil
			}
		case nil:
			return nil, fmt.Errorf("null in a non-Nullable float (output_format_json_quote_denormals must be 1)")
		}
		return nil, fmt.Errorf("want a float, got %T %v", x, x)
	case typ == "String" || strings.HasPrefix(typ, "FixedString"):
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T", x)
		}
		return s, nil
	case typ == "DateTime" || strings.HasPrefix(typ, "DateTime("):
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("want a date-time string, got %T", x)
		}
		t, err := time.ParseInLocation(time.DateTime, s, time.UTC)
		if err != nil {
			return nil, err
		}
		return Int(strconv.FormatInt(t.Unix(), 10)), nil
	case typ == "Bool":
		b, ok := x.(bool)
		if !ok {
			return nil, fmt.Errorf("want a bool, got %T", x)
		}
		return fromGo(reflect.ValueOf(b))
	}
	return nil, fmt.Errorf("unsupported type %s", typ)
}

// Tolerance is how far two float cells may be apart and still agree: within
// Rel of the larger magnitude. NaN agrees with NaN, and infinities with
// themselves.
type Tolerance struct {
	Rel float64
}

// FloatsAgree applies the tolerance to two floats.
func (t Tolerance) FloatsAgree(a, b float64) bool {
	switch {
	case a == b:
		return true
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		return false
	}
	return math.Abs(a-b) <= t.Rel*math.Max(math.Abs(a), math.Abs(b))
}

// Comparison is what Compare found.
type Comparison struct {
	// Differences lists every disagreement: column count or types, row
	// count, cells. Column names are not compared (versions name unaliased
	// expressions differently; the exporter reads columns by position).
	Differences []string
	// Inexact names the column of every float cell that agrees only within
	// the tolerance.
	Inexact []string
	// Names lists the columns whose names differ, for information.
	Names []string
}

// Compare checks b against a cell by cell. With sortRows, both results' rows
// are put in one canonical order first (for queries without ORDER BY).
func Compare(a, b *Result, tol Tolerance, sortRows bool) Comparison {
	var c Comparison
	if len(a.Columns) != len(b.Columns) {
		c.Differences = append(c.Differences, fmt.Sprintf("%d columns vs %d", len(a.Columns), len(b.Columns)))
		return c
	}
	for i := range a.Columns {
		if a.Columns[i].Type != b.Columns[i].Type {
			c.Differences = append(c.Differences, fmt.Sprintf("column %d (%s): type %s vs %s", i+1, a.Columns[i].Name, a.Columns[i].Type, b.Columns[i].Type))
		}
		if a.Columns[i].Name != b.Columns[i].Name {
			c.Names = append(c.Names, fmt.Sprintf("%s | %s", a.Columns[i].Name, b.Columns[i].Name))
		}
	}
	ra, rb := a.Rows, b.Rows
	if sortRows {
		ra, rb = sorted(ra), sorted(rb)
		if d := rowSetDifference(ra, rb); len(d) > 0 {
			c.Differences = append(c.Differences, d...)
			return c
		}
	}
	if len(ra) != len(rb) {
		c.Differences = append(c.Differences, fmt.Sprintf("%d rows vs %d", len(ra), len(rb)))
		return c
	}
	for r := range ra {
		for i := range ra[r] {
			var where string
			if sortRows {
				where = fmt.Sprintf("row %s", exactKey(ra[r]))
			} else {
				where = fmt.Sprintf("row %d", r+1)
			}
			if cellCompare(ra[r][i], rb[r][i], tol, &c, fmt.Sprintf("%s column %d (%s)", where, i+1, a.Columns[i].Name)) {
				c.Inexact = append(c.Inexact, a.Columns[i].Name)
			}
		}
	}
	return c
}

// cellCompare records a difference between x and y, and reports whether
// they agree only within the tolerance.
func cellCompare(x, y any, tol Tolerance, c *Comparison, where string) (inexact bool) {
	differ := func() {
		c.Differences = append(c.Differences, fmt.Sprintf("%s: %s vs %s", where, Format(x), Format(y)))
	}
	switch x := x.(type) {
	case float64:
		yf, ok := y.(float64)
		if !ok || !tol.FloatsAgree(x, yf) {
			differ()
			return false
		}
		return math.Float64bits(x) != math.Float64bits(yf) && !(math.IsNaN(x) && math.IsNaN(yf))
	case []any:
		ys, ok := y.([]any)
		if !ok || len(x) != len(ys) {
			differ()
			return false
		}
		var inner Comparison
		for i := range x {
			inexact = cellCompare(x[i], ys[i], tol, &inner, where) || inexact
		}
		if len(inner.Differences) > 0 { // report the whole array once
			differ()
		}
		return inexact
	default:
		if x != y {
			differ()
		}
		return false
	}
}

// Format renders a cell for messages.
func Format(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case Int:
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return strconv.Quote(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = Format(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// rowKey orders rows by their exact cells (integers and strings first), so
// that float noise in the last bits does not reorder them.
func rowKey(row []any) string {
	var floats []string
	for _, v := range row {
		if hasFloat(v) {
			floats = append(floats, formatRounded(v))
		}
	}
	return exactKey(row) + "|" + strings.Join(floats, "|")
}

func formatRounded(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'e', 6, 64)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatRounded(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return Format(v)
}

// exactKey is a row's cells but its floats: the rows of a GROUP BY pair up
// by it.
func exactKey(row []any) string {
	var exact []string
	for _, v := range row {
		if !hasFloat(v) {
			exact = append(exact, Format(v))
		}
	}
	return strings.Join(exact, "|")
}

func hasFloat(v any) bool {
	switch v := v.(type) {
	case float64:
		return true
	case []any:
		return slices.ContainsFunc(v, hasFloat)
	}
	return false
}

// rowSetDifference lists the rows, floats aside, that only one result has.
func rowSetDifference(a, b [][]any) []string {
	count := map[string]int{}
	for _, r := range a {
		count[exactKey(r)]++
	}
	for _, r := range b {
		count[exactKey(r)]--
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(count)) {
		switch n := count[k]; {
		case n > 0:
			out = append(out, fmt.Sprintf("row %s only in the first (%d×)", k, n))
		case n < 0:
			out = append(out, fmt.Sprintf("row %s only in the second (%d×)", k, -n))
		}
	}
	return out
}

func sorted(rows [][]any) [][]any {
	out := append([][]any(nil), rows...)
	sort.SliceStable(out, func(i, j int) bool { return rowKey(out[i]) < rowKey(out[j]) })
	return out
}
