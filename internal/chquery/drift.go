package chquery

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mlmon/mlmon/internal/config"
)

// WassersteinGrid are the probabilities at which both windows' quantiles are
// compared for the Wasserstein distance: the midpoints of 20 equal slices.
var WassersteinGrid = func() []float64 {
	g := make([]float64, 20)
	for i := range g {
		g[i] = (float64(i) + 0.5) / 20
	}
	return g
}()

// MaxSeenCategories bounds the reference values kept to recognise unseen
// categories. A reference with more distinct values has no complete list, and
// the unseen ratio is then not reported rather than guessed.
const MaxSeenCategories = 1000

// Source is where a window's rows come from: the model's predictions table,
// restricted to the model and a time window, or a whole reference table
// (Table set), such as a training set.
type Source struct {
	Window   Window
	Table    string
	Sampling Sampling // predictions table only
}

// Sampling is how the heavy queries read a share of a model's predictions.
// The same request ids are in or out in every window and every query, so a
// sampled prediction is joined to its own label.
type Sampling struct {
	Ratio float64 // in (0, 1]; 0 or 1 reads every row
	// Clause: the table has a sampling key, so ClickHouse's SAMPLE clause
	// reads only part of the data; otherwise a hash of the id filters rows
	// after reading them (cheaper to aggregate, not to scan).
	Clause bool
}

// sampleBuckets is the resolution of the hash filter.
const sampleBuckets = 1_000_000

func (s Sampling) active() bool { return s.Ratio > 0 && s.Ratio < 1 }

// Column is one monitored column: a feature, or the model's output or score
// treated like one for prediction drift.
type Column struct {
	Name    string // column name in the source table
	Numeric bool
}

// Profile is the first pass over a reference: row counts and, for numeric
// columns, what the bins and distances need.
type Profile struct {
	Rows    uint64
	Columns []ColumnProfile // aligned with the columns asked for
}

// ColumnProfile summarises one column of the reference.
type ColumnProfile struct {
	Present uint64 // rows where the value is not NULL (nor NaN, numeric)
	// Numeric only; NaN when no value is present.
	Quantiles []float64 // at 1/B … (B−1)/B
	Grid      []float64 // at WassersteinGrid
	Min, Max  float64
	StdDev    float64 // population standard deviation
}

// ProfileQuery computes the reference profile of every column in one pass.
func ProfileQuery(m *config.Model, src Source, cols []Column, bins int) (Query, error) {
	var ids identifiers
	inner, outer := []string{"1 AS mlmon_one"}, []string{"count() AS rows"}
	levels := make([]string, 0, bins-1)
	for i := 1; i < bins; i++ {
		levels = append(levels, strconv.FormatFloat(float64(i)/float64(bins), 'g', -1, 64))
	}
	for i, c := range cols {
		x := fmt.Sprintf("mlmon_x%d", i)
		if c.Numeric {
			inner = append(inner, numericExpr(&ids, c.Name)+" AS "+x)
			cond := "isFinite(" + x + ")"
			outer = append(outer,
				"countIf("+cond+")",
				"quantilesIf("+strings.Join(levels, ", ")+")("+x+", "+cond+")",
				"quantilesIf("+floatList(WassersteinGrid)+")("+x+", "+cond+")",
				"minIf("+x+", "+cond+")", "maxIf("+x+", "+cond+")", "stddevPopIf("+x+", "+cond+")")
		} else {
			inner = append(inner, "isNotNull("+ids.col(c.Name)+") AS "+x)
			outer = append(outer, "countIf("+x+")")
		}
	}
	var b sqlBuilder
	b.add("SELECT " + strings.Join(outer, ", ") + " FROM (SELECT " + strings.Join(inner, ", "))
	from(&b, &ids, m, src)
	b.add(")")
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("reference"), nil
}

// Profile runs ProfileQuery.
func (c *Client) Profile(ctx context.Context, m *config.Model, src Source, cols []Column, bins int) (Profile, error) {
	q, err := ProfileQuery(m, src, cols, bins)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{Columns: make([]ColumnProfile, len(cols))}
	dest := []any{&p.Rows}
	for i, col := range cols {
		cp := &p.Columns[i]
		dest = append(dest, &cp.Present)
		if col.Numeric {
			dest = append(dest, &cp.Quantiles, &cp.Grid, &cp.Min, &cp.Max, &cp.StdDev)
		}
	}
	if err := c.QueryRow(ctx, m.Name, q, dest...); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// CategoryCount is one categorical value and its rows.
type CategoryCount struct {
	Value string
	Rows  uint64
}

// CategoriesQuery lists a categorical column's most frequent values (ties by
// value, so the order is stable), up to limit.
func CategoriesQuery(m *config.Model, src Source, col string, limit int) (Query, error) {
	var ids identifiers
	var b sqlBuilder
	c := ids.col(col)
	b.add("SELECT mlmon_c, count() AS n FROM (SELECT isNotNull(" + c + ") AS mlmon_present, ifNull(toString(" + c + "), '') AS mlmon_c")
	from(&b, &ids, m, src)
	b.add(fmt.Sprintf(") WHERE mlmon_present GROUP BY mlmon_c ORDER BY n DESC, mlmon_c LIMIT %d", limit))
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("reference"), nil
}

// Categories runs CategoriesQuery.
func (c *Client) Categories(ctx context.Context, m *config.Model, src Source, col string, limit int) ([]CategoryCount, error) {
	q, err := CategoriesQuery(m, src, col, limit)
	if err != nil {
		return nil, err
	}
	var out []CategoryCount
	err = c.QueryRows(ctx, m.Name, q, func(scan func(...any) error) error {
		var cc CategoryCount
		if err := scan(&cc.Value, &cc.Rows); err != nil {
			return err
		}
		out = append(out, cc)
		return nil
	})
	return out, err
}

// Binning says how a column is binned in a window.
type Binning struct {
	Column
	// Numeric: bin edges (bins are (−∞,e1), [e1,e2), …, [ek,+∞)) and the
	// reference range for out-of-range counts.
	Edges    []float64
	Min, Max float64
	// Categorical: the reference's top categories (one bin each, plus one
	// for every other value) and, when complete, every reference value.
	Categories []string
	Seen       []string
}

// WindowStats is the one-pass summary of a window for every column.
type WindowStats struct {
	Rows    uint64
	Columns []ColumnStats // aligned with the binnings asked for
}

// ColumnStats holds one column's bin counts and data-quality counts.
type ColumnStats struct {
	// Bins: numeric, one count per bin; categorical, one per category and a
	// last one for every other value.
	Bins       []uint64
	Missing    uint64    // NULL, or NaN/Inf for numeric columns
	OutOfRange uint64    // numeric: outside the reference [Min, Max]
	Grid       []float64 // numeric: quantiles at WassersteinGrid
	Unseen     uint64    // categorical with Seen: values not among them
}

// WindowQuery bins every column of the window in one pass: the cost grows
// with the rows scanned, not with the number of features. Values are binned
// by plain comparisons and indexOf, which need no lambda (a lambda naming a
// column fails inside aggregates on 18.16).
func WindowQuery(m *config.Model, src Source, cols []Binning) (Query, error) {
	var ids identifiers
	var b sqlBuilder
	var inner []string
	var innerArgs []any
	outer := []string{"count() AS rows"}
	for i, c := range cols {
		x, bin := fmt.Sprintf("mlmon_x%d", i), fmt.Sprintf("mlmon_b%d", i)
		if c.Numeric {
			expr := numericExpr(&ids, c.Name)
			// bin = number of edges ≤ x; -1 marks a missing value.
			idx := "0"
			if len(c.Edges) > 0 {
				parts := make([]string, len(c.Edges))
				for k, e := range c.Edges {
					parts[k] = "(" + x + " >= " + floatLit(e) + ")"
				}
				idx = strings.Join(parts, " + ")
			}
			inner = append(inner, expr+" AS "+x, "if(isFinite("+x+"), toInt32("+idx+"), -1) AS "+bin)
			outer = append(outer, binCounts(bin),
				"countIf("+bin+" >= 0 AND ("+x+" < "+floatLit(c.Min)+" OR "+x+" > "+floatLit(c.Max)+"))",
				"quantilesIf("+floatList(WassersteinGrid)+")("+x+", "+bin+" >= 0)")
			continue
		}
		col := ids.col(c.Name)
		// bin = 1-based position among the top categories, 0 for any other
		// value, -1 for NULL. Categories are bound values, never spliced.
		if len(c.Categories) > 0 {
			inner = append(inner, "if(isNull("+col+"), -1, toInt32(indexOf(?, ifNull(toString("+col+"), '')))) AS "+bin)
			innerArgs = append(innerArgs, c.Categories)
		} else {
			// An empty array literal has no element type on 18.16.
			inner = append(inner, "if(isNull("+col+"), -1, 0) AS "+bin)
		}
		unseen := "toUInt64(0)"
		switch {
		case len(c.Seen) > 0:
			inner = append(inner, "isNotNull("+col+") AND NOT has(?, ifNull(toString("+col+"), '')) AS "+x)
			innerArgs = append(innerArgs, c.Seen)
			unseen = "countIf(" + x + ")"
		case c.Seen != nil: // the reference had no value at all
			unseen = "countIf(" + bin + " >= 0)"
		}
		outer = append(outer, binCounts(bin), unseen)
	}
	if len(inner) == 0 {
		inner = []string{"1 AS mlmon_one"}
	}
	b.add("SELECT "+strings.Join(outer, ", ")+" FROM (SELECT "+strings.Join(inner, ", "), innerArgs...)
	from(&b, &ids, m, src)
	b.add(")")
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("drift"), nil
}

// binCounts counts the rows of each bin, the missing ones (bin -1)
// included, as two arrays: the bins that occur and their counts. One sumMap
// per column is cheaper than one countIf per bin (mlmonbench, 1M rows, 25
// features, 3 models: the three drift queries took 2.0 s instead of 3.1 s).
func binCounts(bin string) string {
	sum := "sumMap([" + bin + "], [toUInt64(1)])"
	return sum + ".1, " + sum + ".2"
}

// FoldBins spreads one column's bin counts, as the window query returns them
// (the bins that occur, and their counts), over the column's bins and its
// missing count (bin -1). A categorical column's top categories are bins
// 1…k and every other value is bin 0, which goes last.
func FoldBins(col Binning, keys []int32, counts []uint64) (bins []uint64, missing uint64, err error) {
	if len(keys) != len(counts) {
		return nil, 0, fmt.Errorf("bin counts: %d bins, %d counts", len(keys), len(counts))
	}
	n := len(col.Edges) + 1
	if !col.Numeric {
		n = len(col.Categories) + 1
	}
	bins = make([]uint64, n)
	for i, k := range keys {
		idx := int(k)
		if !col.Numeric {
			idx--
			if k == 0 {
				idx = n - 1
			}
		}
		switch {
		case k == -1:
			missing += counts[i]
		case idx >= 0 && idx < n:
			bins[idx] += counts[i]
		default:
			return nil, 0, fmt.Errorf("bin counts: bin %d outside [0, %d)", k, n)
		}
	}
	return bins, missing, nil
}

// Window runs WindowQuery.
func (c *Client) Window(ctx context.Context, m *config.Model, src Source, cols []Binning, name string) (WindowStats, error) {
	q, err := WindowQuery(m, src, cols)
	if err != nil {
		return WindowStats{}, err
	}
	q.Name = name
	ws := WindowStats{Columns: make([]ColumnStats, len(cols))}
	dest := []any{&ws.Rows}
	keys, counts := make([][]int32, len(cols)), make([][]uint64, len(cols))
	for i, col := range cols {
		cs := &ws.Columns[i]
		dest = append(dest, &keys[i], &counts[i])
		if col.Numeric {
			dest = append(dest, &cs.OutOfRange, &cs.Grid)
		} else {
			dest = append(dest, &cs.Unseen)
		}
	}
	if err := c.QueryRow(ctx, m.Name, q, dest...); err != nil {
		return WindowStats{}, err
	}
	for i, col := range cols {
		cs := &ws.Columns[i]
		if cs.Bins, cs.Missing, err = FoldBins(col, keys[i], counts[i]); err != nil {
			return WindowStats{}, fmt.Errorf("query %s: column %s: %w", name, col.Name, err)
		}
	}
	return ws, nil
}

// from renders the FROM clause of a source.
func from(b *sqlBuilder, ids *identifiers, m *config.Model, src Source) {
	if src.Table != "" {
		b.add(" FROM " + ids.table(src.Table))
		return
	}
	b.add(" FROM " + ids.table(m.Predictions.Table))
	if src.Sampling.active() && src.Sampling.Clause {
		b.add(" SAMPLE " + strconv.FormatFloat(src.Sampling.Ratio, 'g', -1, 64))
	}
	b.add(" WHERE ")
	modelFilter(b, m, ids)
	b.window(ids.col(m.Predictions.Timestamp), src.Window)
	if src.Sampling.active() && !src.Sampling.Clause {
		b.add(fmt.Sprintf(" AND cityHash64(%s) %% %d < %d", ids.col(m.Predictions.ID), sampleBuckets,
			int64(math.Round(src.Sampling.Ratio*sampleBuckets))))
	}
}

// numericExpr reads any numeric column, Nullable or not, as Float64 with
// NULL as NaN, so that "missing" is one test: not isFinite.
func numericExpr(ids *identifiers, col string) string {
	return "ifNull(toFloat64(" + ids.col(col) + "), nan)"
}

// floatLit renders a float for SQL. Edges and ranges are numbers the
// exporter computed, so they are rendered exactly (shortest round-trip form)
// rather than bound, keeping the comparisons Float64 on every version.
func floatLit(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f != 0 && math.Abs(f) < 0x1p-1022:
		// 18.16's parser rejects subnormal literals: write the value as an
		// exact product, m·2⁻¹⁰⁷⁴.
		m := int64(math.Float64bits(math.Abs(f)))
		if f < 0 {
			m = -m
		}
		return fmt.Sprintf("toFloat64(%d * 2.2227587494850775e-162 * 2.2227587494850775e-162)", m)
	}
	return "toFloat64(" + strconv.FormatFloat(f, 'g', -1, 64) + ")"
}

func floatList(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Join(parts, ", ")
}
