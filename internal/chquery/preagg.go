package chquery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// The pre-aggregation table (deploy/clickhouse/preaggregate.sql) has one row
// per model, column and interval; its column names are fixed by that DDL.
// A materialized view fills it with aggregate states, so a window is the
// merge of its intervals' states: a day at one-minute intervals is 1440 rows
// per column instead of every prediction of the day.
const (
	aggModel      = "model"
	aggFeature    = "feature" // the column's name in the predictions table
	aggStart      = "interval_start"
	aggRows       = "rows"       // countState()
	aggPresent    = "present"    // sumState(UInt64): values not NULL (nor NaN/Inf)
	aggSketch     = "sketch"     // quantilesTDigestState of the finite values
	aggMin        = "min_value"  // minState of the finite values
	aggMax        = "max_value"  // maxState of the finite values
	aggCategories = "categories" // sumMapState([cityHash64(value)], [1])
)

// gridFromLevels picks the quantiles at WassersteinGrid out of those at
// cdfLevels: the grid's levels, (i + 0.5)/20, are multiples of 1/1000.
func gridFromLevels(levels []float64) ([]float64, error) {
	if len(levels) != len(cdfLevels) {
		return nil, fmt.Errorf("%d quantiles, want %d", len(levels), len(cdfLevels))
	}
	grid := make([]float64, len(WassersteinGrid))
	for k, u := range WassersteinGrid {
		i := int(math.Round(u*1000)) - 1
		if cdfLevels[i] != u {
			return nil, fmt.Errorf("grid level %g is not among the digest's levels", u)
		}
		grid[k] = levels[i]
	}
	return grid, nil
}

// cdfLevels are the levels at which a merged t-digest is read to rebuild the
// distribution between the exact minimum and maximum: every 0.1%. That is
// finer than the digest itself (its centroids hold up to 1% of the values
// near the median), so the grid adds little error of its own.
var cdfLevels = func() []float64 {
	g := make([]float64, 999)
	for i := range g {
		g[i] = float64(i+1) / 1000
	}
	return g
}()

// PreaggregatedRange is the part of w the pre-aggregated intervals cover:
// both edges rounded down to a multiple of the interval (in Unix time, as
// the view rounds). The window keeps its length and ends at the start of the
// interval that holds w.To, so the interval still being written is left out
// when the window ends now; the window starts up to one interval early.
func PreaggregatedRange(w Window, interval time.Duration) Window {
	step := int64(interval / time.Second)
	if step <= 0 {
		return w
	}
	down := func(t time.Time) time.Time {
		s := t.Unix()
		s -= ((s % step) + step) % step
		return time.Unix(s, 0).UTC()
	}
	return Window{From: down(w.From), To: down(w.To)}
}

// PreaggregatedWindowQuery merges the states of every interval whose start
// lies in the rounded window, for every categorical column, into one row
// (numeric columns are PreaggregatedDigestQuery's; ok is false when cols
// has no categorical column). Each column's states are picked with -MergeIf
// on its name, so a window costs one pass over (columns × intervals) rows of
// the aggregate table whatever the rows of the predictions table.
// Categorical bins are looked up by cityHash64 of the bound category
// strings, computed by ClickHouse, and only the counts come back, not the
// window's distinct values.
func PreaggregatedWindowQuery(m *config.Model, w Window, cols []Binning) (q Query, ok bool, err error) {
	if m.Preaggregated == nil {
		return Query{}, false, fmt.Errorf("model %q has no preaggregated table", m.Name)
	}
	if len(cols) == 0 {
		return Query{}, false, errors.New("preaggregated window: no columns")
	}
	var ids identifiers
	var outer, inner []string
	var outerArgs, innerArgs []any
	merge := func(fn, col, name, alias string) {
		inner = append(inner, fn+"("+ids.col(col)+", "+ids.col(aggFeature)+" = ?) AS "+alias)
		innerArgs = append(innerArgs, name)
	}
	var names []string
	for i, c := range cols {
		if c.Numeric {
			continue
		}
		names = append(names, c.Name)
		n := strconv.Itoa(i)
		merge("countMergeIf", aggRows, c.Name, "mlmon_r"+n)
		merge("sumMergeIf", aggPresent, c.Name, "mlmon_p"+n)
		outer = append(outer, "mlmon_r"+n, "mlmon_p"+n)
		cm := "mlmon_m" + n
		merge("sumMapMergeIf", aggCategories, c.Name, cm)
		// count(values) looks each value's hash up in the merged map; one the
		// window lacks reads as 0 (arrayElement at index 0).
		count := func(values string) string {
			return "arrayMap(mlmon_h -> arrayElement(tupleElement(" + cm + ", 2), indexOf(tupleElement(" + cm + ", 1), mlmon_h)), arrayMap(mlmon_s -> cityHash64(mlmon_s), " + values + "))"
		}
		// The distinct count names the map outside a lambda: 18.16 drops a
		// subquery column that only lambdas use ("Unknown identifier").
		outer = append(outer, "length(tupleElement("+cm+", 1))")
		if len(c.Categories) > 0 {
			outer = append(outer, count("?"))
			outerArgs = append(outerArgs, c.Categories)
		} else {
			outer = append(outer, "emptyArrayUInt64()")
		}
		if len(c.Seen) > 0 {
			outer = append(outer, "arraySum("+count("?")+")")
			outerArgs = append(outerArgs, c.Seen)
		} else {
			outer = append(outer, "toUInt64(0)")
		}
	}
	if len(names) == 0 {
		return Query{}, false, nil
	}
	var b sqlBuilder
	b.add("SELECT "+strings.Join(outer, ", "), outerArgs...)
	b.add(" FROM (SELECT "+strings.Join(inner, ", "), innerArgs...)
	aggregatesOf(&b, &ids, m, PreaggregatedRange(w, m.Preaggregated.Interval), names)
	b.add(")")
	if ids.err != nil {
		return Query{}, false, ids.err
	}
	return b.query("drift"), true, nil
}

// PreaggregatedDigestQuery merges the numeric columns' states, one row per
// column (ok is false without a numeric column). Grouping by the column
// merges each state once, where -MergeIf per column would test every row
// of the model for every column: 0.37 s against 0.66 s for 21 columns of a
// day at one-minute intervals, most of it the t-digest merges.
func PreaggregatedDigestQuery(m *config.Model, w Window, cols []Binning) (q Query, ok bool, err error) {
	if m.Preaggregated == nil {
		return Query{}, false, fmt.Errorf("model %q has no preaggregated table", m.Name)
	}
	var names []string
	for _, c := range cols {
		if c.Numeric {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return Query{}, false, nil
	}
	var ids identifiers
	var b sqlBuilder
	// 18.16's t-digest answers Float32: cast, so both versions scan the
	// same way. The Wasserstein grid's levels are among cdfLevels: one
	// merge of the digests serves both.
	b.add("SELECT " + ids.col(aggFeature) + ", countMerge(" + ids.col(aggRows) + "), sumMerge(" + ids.col(aggPresent) +
		"), CAST(quantilesTDigestMerge(" + floatList(cdfLevels) + ")(" + ids.col(aggSketch) + ") AS Array(Float64)), minMerge(" +
		ids.col(aggMin) + "), maxMerge(" + ids.col(aggMax) + ")")
	aggregatesOf(&b, &ids, m, PreaggregatedRange(w, m.Preaggregated.Interval), names)
	b.add(" GROUP BY " + ids.col(aggFeature))
	if ids.err != nil {
		return Query{}, false, ids.err
	}
	return b.query("drift"), true, nil
}

// aggregatesOf renders the FROM clause of the pre-aggregation queries: the
// model's rows of the named columns whose interval starts in starts (the
// window rounded to the table's interval, PreaggregatedRange).
func aggregatesOf(b *sqlBuilder, ids *identifiers, m *config.Model, starts Window, names []string) {
	p := m.Preaggregated
	b.add(" FROM "+ids.table(p.Table)+" WHERE "+ids.col(aggModel)+" = ? AND "+ids.col(aggFeature)+" IN (", m.Name)
	for i, n := range names {
		if i > 0 {
			b.add(", ")
		}
		b.add("?", n)
	}
	b.add(") AND ")
	b.window(ids.col(aggStart), starts)
}

// PreaggregatedWindow runs both pre-aggregation queries and returns what Window
// returns for the same rows: row, missing and categorical counts exactly;
// numeric bins and out-of-range counts estimated from the merged t-digest
// (see estimateNumeric), and Grid read off the digest too.
func (c *Client) PreaggregatedWindow(ctx context.Context, m *config.Model, w Window, cols []Binning, name string) (WindowStats, error) {
	raw := make([]preaggColumn, len(cols))
	q, ok, err := PreaggregatedWindowQuery(m, w, cols)
	if err != nil {
		return WindowStats{}, err
	}
	if ok {
		q.Name = name
		var dest []any
		for i, col := range cols {
			if !col.Numeric {
				r := &raw[i]
				dest = append(dest, &r.rows, &r.present, &r.distinct, &r.top, &r.seen)
			}
		}
		if err := c.QueryRow(ctx, m.Name, q, dest...); err != nil {
			return WindowStats{}, err
		}
	}
	if q, ok, err = PreaggregatedDigestQuery(m, w, cols); err != nil {
		return WindowStats{}, err
	}
	if ok {
		q.Name = name
		// A column without intervals in the window gets no row: it reads as
		// the merge of nothing, quantiles NaN, as an empty window's full
		// scan reads.
		nothing := make([]float64, len(cdfLevels))
		for i := range nothing {
			nothing[i] = math.NaN()
		}
		byName := map[string]*preaggColumn{}
		for i, col := range cols {
			if col.Numeric {
				raw[i] = preaggColumn{levels: nothing, min: math.NaN(), max: math.NaN()}
				byName[col.Name] = &raw[i]
			}
		}
		err = c.QueryRows(ctx, m.Name, q, func(scan func(...any) error) error {
			var feature string
			var d preaggColumn
			if err := scan(&feature, &d.rows, &d.present, &d.levels, &d.min, &d.max); err != nil {
				return err
			}
			if r := byName[feature]; r != nil {
				*r = d
			}
			return nil
		})
		if err != nil {
			return WindowStats{}, err
		}
	}
	ws, err := foldPreaggregated(cols, raw)
	if err != nil {
		return WindowStats{}, fmt.Errorf("query %s: %s: %w", name, m.Preaggregated.Table, err)
	}
	return ws, nil
}

// unlisted is the error for a column with no aggregates while the model has
// some: the views do not list it, which would otherwise read as a column
// gone missing.
func unlisted(column, where string) error {
	return fmt.Errorf("column %s has no aggregates %s (is it listed in the materialized view?)", column, where)
}

// preaggColumn is one column's merged aggregates as the query returns them.
type preaggColumn struct {
	rows, present uint64
	// numeric
	levels   []float64 // at cdfLevels
	min, max float64
	// categorical
	distinct uint64
	top      []uint64 // per top category
	seen     uint64   // values among the reference's
}

// foldPreaggregated turns the merged aggregates into WindowStats. Every
// column is aggregated from the same prediction rows, so the window's rows
// are the largest count; a column with none while others have rows is not
// in the view, which would otherwise read as a feature gone missing.
func foldPreaggregated(cols []Binning, raw []preaggColumn) (ws WindowStats, err error) {
	for _, r := range raw {
		ws.Rows = max(ws.Rows, r.rows)
	}
	ws.Columns = make([]ColumnStats, len(cols))
	for i, c := range cols {
		r, cs := raw[i], &ws.Columns[i]
		if r.rows == 0 && ws.Rows > 0 {
			return WindowStats{}, unlisted(c.Name, "in the window")
		}
		if r.present > ws.Rows {
			return WindowStats{}, fmt.Errorf("column %s: %d values in %d rows", c.Name, r.present, ws.Rows)
		}
		cs.Missing = ws.Rows - r.present
		if c.Numeric {
			cs.Bins, cs.OutOfRange = estimateNumeric(c, r)
			if cs.Grid, err = gridFromLevels(r.levels); err != nil {
				return WindowStats{}, fmt.Errorf("column %s: %w", c.Name, err)
			}
			continue
		}
		if len(r.top) != len(c.Categories) {
			return WindowStats{}, fmt.Errorf("column %s: %d counts for %d categories", c.Name, len(r.top), len(c.Categories))
		}
		cs.Bins = make([]uint64, len(c.Categories)+1)
		var inTop uint64
		for k, n := range r.top {
			cs.Bins[k] = n
			inTop += n
		}
		if inTop > r.present || r.seen > r.present {
			return WindowStats{}, fmt.Errorf("column %s: category counts exceed its %d values", c.Name, r.present)
		}
		cs.Bins[len(c.Categories)] = r.present - inTop
		switch {
		case len(c.Seen) > 0:
			cs.Unseen = r.present - r.seen
		case c.Seen != nil: // the reference had no value at all
			cs.Unseen = r.present
		}
	}
	return ws, nil
}

// estimateNumeric estimates a numeric column's bin and out-of-range counts
// from its merged digest (stats.DigestCDF): the share below each edge, read
// off the digest's quantiles, times the values present. ClickHouse's
// t-digest keeps no centroid above 1% of the values near the median
// (4·q·(1−q)·1%), and the error of a share is bounded by about half a
// centroid; measured against full scans it is a few tenths of a percent of
// the values (docs/preaggregation.md).
func estimateNumeric(c Binning, r preaggColumn) (bins []uint64, outOfRange uint64) {
	if r.present == 0 {
		return make([]uint64, len(c.Edges)+1), 0
	}
	d := stats.NewDigestCDF(r.min, r.max, cdfLevels, r.levels)
	return d.BinCounts(r.present, c.Edges), d.OutsideCount(r.present, c.Min, c.Max)
}
