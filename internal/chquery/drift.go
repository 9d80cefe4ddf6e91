package chquery

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
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
	// Join is how the performance queries join labels to the predictions
	// when a table is Distributed; the zero value joins on one server.
	Join JoinStrategy
	// Distributed: the table read is a Distributed table, whose shards
	// aggregate their own rows (see aggregateRows).
	Distributed bool
	// ReadOnce: the performance join reads the predictions table once, its
	// label side unfiltered by the window's ids: on servers on which one
	// query must not lock a table twice (Client.LocksTwice), and where the
	// filter costs more than it saves (Client.FilterLabels).
	ReadOnce bool
	// Scores asks WindowQuery to count the window's score histogram by
	// predicted class too (binary models with a score; predictions table
	// only), in the same pass: see ScoreHistogram.
	Scores bool
	// ClassScores asks WindowQuery for a multiclass model's score
	// histograms by predicted class (the model's scores:), in the same
	// pass: see ClassScoreCounts.
	ClassScores bool
	// Segments, when set, asks the window pass and the performance joins
	// to count each segment value too (see Segments).
	Segments *Segments
	// Models, when set, names the models whose performance join is this
	// one: they share every table and column the join reads and differ
	// only by the value of the model column (SharedJoinKey). The
	// predictions are those of every model named, and the join groups by
	// model too (ClassificationByModel, RegressionByModel).
	Models []string
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
	aggregateRows(&b, &ids, m, src, strings.Join(outer, ", "), strings.Join(inner, ", "))
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("reference"), nil
}

// Profile runs ProfileQuery.
func (c *Client) Profile(ctx context.Context, m *config.Model, src Source, cols []Column, bins int) (Profile, error) {
	src, err := c.sourceEngine(ctx, m, src, "reference")
	if err != nil {
		return Profile{}, err
	}
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
	inner := "isNotNull(" + c + ") AS mlmon_present, ifNull(toString(" + c + "), '') AS mlmon_c"
	if src.Distributed {
		// A table source has no WHERE to add mlmon_present to: NULLs fall
		// into the group of '', whose count leaves them out, and HAVING
		// drops that group where it holds nothing but NULLs.
		aggregateRows(&b, &ids, m, src, "mlmon_c, countIf(mlmon_present) AS mlmon_n", inner)
		b.add(fmt.Sprintf(" GROUP BY mlmon_c HAVING mlmon_n > 0 ORDER BY mlmon_n DESC, mlmon_c LIMIT %d", limit))
	} else {
		b.add("SELECT mlmon_c, count() AS n FROM (SELECT " + inner)
		from(&b, &ids, m, src)
		b.add(fmt.Sprintf(") WHERE mlmon_present GROUP BY mlmon_c ORDER BY n DESC, mlmon_c LIMIT %d", limit))
	}
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("reference"), nil
}

// Categories runs CategoriesQuery.
func (c *Client) Categories(ctx context.Context, m *config.Model, src Source, col string, limit int) ([]CategoryCount, error) {
	src, err := c.sourceEngine(ctx, m, src, "reference")
	if err != nil {
		return nil, err
	}
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
	// Scores is set when the source asked for it (Source.Scores).
	Scores *ScoreHistogram
	// ClassScores is set when the source asked for it (Source.ClassScores).
	ClassScores *ClassScoreCounts
	// Segments is set when the source asked for it (Source.Segments):
	// [segment][slot], slot 0 being every other value.
	Segments [][]SegmentWindow
}

// ScoreHistogram counts a window's rows by predicted class and score
// bucket: the score clamped to [0, 1] and rounded to 1/ScoreBuckets, as
// ClassificationQuery buckets the labelled rows' scores. Index b holds the
// rows whose score rounds to b/ScoreBuckets.
type ScoreHistogram struct {
	PredictedPositive []uint64 // prediction = the positive class
	PredictedNegative []uint64 // any other prediction (NULL included)
	Unscored          uint64   // score NULL, NaN or infinite
}

// Buckets returns the non-empty buckets as stats.PredictedScoreBucket.
func (h *ScoreHistogram) Buckets() []stats.PredictedScoreBucket {
	var out []stats.PredictedScoreBucket
	for b := range h.PredictedPositive {
		pos, neg := h.PredictedPositive[b], h.PredictedNegative[b]
		if pos+neg > 0 {
			out = append(out, stats.PredictedScoreBucket{Score: float64(b) / ScoreBuckets,
				PredictedPositive: float64(pos), PredictedNegative: float64(neg)})
		}
	}
	return out
}

// Scored is the number of rows with a finite score.
func (h *ScoreHistogram) Scored() uint64 {
	var n uint64
	for b := range h.PredictedPositive {
		n += h.PredictedPositive[b] + h.PredictedNegative[b]
	}
	return n
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

// WindowQuery counts every column's bins and data-quality states in one
// pass. Each row yields one small integer per column (its state: missing, or
// bin and flag) and the rows are grouped by those integers through
// arrayJoin, so ClickHouse updates one count per column and row in a table
// of a few hundred groups. One aggregate state per bin (countIf, or a
// sumMap per column) costs a function call per bin and row instead: on
// ClickHouse 18.16, 1.7M rows × 25 features took 1.5 s this way against
// 3.1 s with sumMap (mlmonbench). Values are binned by plain comparisons and
// a transform of their hash, which need no lambda (a lambda naming a column
// fails inside aggregates on 18.16).
//
// With src.Scores, each row yields one more key, from a range after the
// columns' (scoreStates keys): its predicted class and score bucket, which
// the label-free performance estimate needs, without a second scan.
func WindowQuery(m *config.Model, src Source, cols []Binning) (Query, error) {
	var ids identifiers
	var b sqlBuilder
	var inner []string
	var innerArgs []any
	if src.Scores && (m.Predictions.Score == "" || src.Table != "") {
		return Query{}, fmt.Errorf("model %q: a score histogram needs the predictions table's score column", m.Name)
	}
	layout := newStateKeys(cols, src.Scores)
	if src.ClassScores {
		if len(m.Scores) == 0 || src.Table != "" || src.Scores {
			return Query{}, fmt.Errorf("model %q: class score histograms need the predictions table's scores columns", m.Name)
		}
		layout.classes = len(m.Scores)
	}
	keys := []string{layout.rowsSQL()} // one per row: the row count
	for i, c := range cols {
		x, state := fmt.Sprintf("mlmon_x%d", i), fmt.Sprintf("mlmon_s%d", i)
		keys = append(keys, state)
		if c.Numeric {
			inner = append(inner, numericExpr(&ids, c.Name)+" AS "+x, layout.numericSQL(i, x)+" AS "+state)
			continue
		}
		inner = append(inner, layout.categorySQL(i, ids.col(c.Name))+" AS "+state)
	}
	if src.Scores {
		// Predicted positive when the prediction reads as the positive class.
		x := "mlmon_sc"
		inner = append(inner, numericExpr(&ids, m.Predictions.Score)+" AS "+x,
			layout.scoreSQL(x, classLabelExpr(&ids, m.Predictions.Prediction))+" AS mlmon_ss")
		innerArgs = append(innerArgs, m.PositiveClass)
		keys = append(keys, "mlmon_ss")
	}
	if src.ClassScores {
		sqls, args := layout.classScoreSQL(&ids, m)
		inner = append(inner, sqls...)
		innerArgs = append(innerArgs, args...)
		for j := range layout.classes {
			keys = append(keys, fmt.Sprintf("mlmon_mk%d", j))
		}
	}
	if src.Segments.active() {
		for j, sg := range src.Segments.Columns {
			inner = append(inner, segmentSlotSQL(&ids, sg)+" AS "+segmentSlotAlias(j))
		}
		inner = append(inner, windowSegmentKeys{layout, src.Segments}.classInnerSQL()...)
		keys = append(keys, windowSegmentKeys{layout, src.Segments}.keysSQL()...)
	}
	if len(inner) == 0 {
		inner = []string{"1 AS mlmon_one"}
	}
	// The states and their arrayJoin share one SELECT: a subquery between
	// them cost 18.16 4% more.
	inner = append(inner, "arrayJoin(["+strings.Join(keys, ", ")+"]) AS mlmon_k")
	aggregateRows(&b, &ids, m, src, "toUInt64(mlmon_k) AS mlmon_key, count() AS mlmon_n", strings.Join(inner, ", "), innerArgs...)
	b.add(" GROUP BY mlmon_k")
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("drift"), nil
}

// GridQuery reads the numeric columns' quantiles at WassersteinGrid; ok is
// false when cols has no numeric column. It is a query of its own because
// the bins are grouped and quantiles are not. Missing values become NaN,
// which ClickHouse's quantiles skip, so no -If combinator is needed (it
// costs a call per row: 0.97 s against 0.32 s for 20 columns of 1.7M rows).
func GridQuery(m *config.Model, src Source, cols []Binning) (q Query, ok bool, err error) {
	var ids identifiers
	var inner, outer []string
	for i, c := range cols {
		if !c.Numeric {
			continue
		}
		x := fmt.Sprintf("mlmon_x%d", i)
		inner = append(inner, "if(isFinite("+x+"), "+x+", nan) AS mlmon_g"+strconv.Itoa(i), numericExpr(&ids, c.Name)+" AS "+x)
		outer = append(outer, "quantiles("+floatList(WassersteinGrid)+")(mlmon_g"+strconv.Itoa(i)+")")
	}
	if len(outer) == 0 {
		return Query{}, false, nil
	}
	var b sqlBuilder
	aggregateRows(&b, &ids, m, src, strings.Join(outer, ", "), strings.Join(inner, ", "))
	if ids.err != nil {
		return Query{}, false, ids.err
	}
	return b.query("drift"), true, nil
}

// FoldWindow turns WindowQuery's groups (state keys and their rows) into
// per-column bins and quality counts. A categorical column's top categories
// are bins 1…k in the query and every other value is bin 0, which goes last.
func FoldWindow(cols []Binning, keys, counts []uint64) (WindowStats, error) {
	return foldWindow(cols, keys, counts, false, 0)
}

// FoldClassScoredWindow is FoldWindow for a query with Source.ClassScores
// of a model with classes score columns: it fills WindowStats.ClassScores
// too.
func FoldClassScoredWindow(cols []Binning, classes int, keys, counts []uint64) (WindowStats, error) {
	return foldWindow(cols, keys, counts, false, classes)
}

// FoldScoredWindow is FoldWindow for a query with Source.Scores: it fills
// WindowStats.Scores too.
func FoldScoredWindow(cols []Binning, keys, counts []uint64) (WindowStats, error) {
	return foldWindow(cols, keys, counts, true, 0)
}

func foldWindow(cols []Binning, keys, counts []uint64, scores bool, classes int) (WindowStats, error) {
	if len(keys) != len(counts) {
		return WindowStats{}, fmt.Errorf("window: %d keys, %d counts", len(keys), len(counts))
	}
	ws := WindowStats{Columns: make([]ColumnStats, len(cols))}
	for i, c := range cols {
		ws.Columns[i].Bins = make([]uint64, binCount(c))
	}
	if scores {
		ws.Scores = &ScoreHistogram{
			PredictedPositive: make([]uint64, ScoreBuckets+1),
			PredictedNegative: make([]uint64, ScoreBuckets+1),
		}
	}
	layout := newStateKeys(cols, scores)
	if classes > 0 {
		layout.classes = classes
		ws.ClassScores = newClassScoreCounts(classes)
	}
	for j, k := range keys {
		n := counts[j]
		st, err := layout.decode(k)
		if err != nil {
			return WindowStats{}, fmt.Errorf("window: %w", err)
		}
		switch {
		case st.rows:
			ws.Rows = n
		case st.classScore:
			ws.ClassScores.add(st, n)
		case st.score && st.unscored:
			ws.Scores.Unscored += n
		case st.score && st.positive:
			ws.Scores.PredictedPositive[st.bucket] += n
		case st.score:
			ws.Scores.PredictedNegative[st.bucket] += n
		case st.missing:
			ws.Columns[st.column].Missing += n
		default:
			cs := &ws.Columns[st.column]
			cs.Bins[st.bin] += n
			switch {
			case st.flagged && cols[st.column].Numeric:
				cs.OutOfRange += n
			case st.flagged:
				cs.Unseen += n
			}
		}
	}
	if ws.ClassScores != nil {
		ws.ClassScores.finish()
	}
	return ws, nil
}

// Window runs WindowQuery and, with numeric columns, GridQuery, the two at
// once: each reads the window, and neither needs the other. On 18.16, which
// gives a query one thread on these machines, the two one after the other
// were a busy model's longest path (3.2 s and 1.0 s against 1.8 s for its
// label join: docs/benchmarks.md); on current releases, which give each
// query every core, running them together costs nothing more.
func (c *Client) Window(ctx context.Context, m *config.Model, src Source, cols []Binning, name string) (WindowStats, error) {
	src, err := c.sourceEngine(ctx, m, src, name)
	if err != nil {
		return WindowStats{}, err
	}
	q, err := WindowQuery(m, src, cols)
	if err != nil {
		return WindowStats{}, err
	}
	q.Name = name
	gq, withGrid, err := GridQuery(m, src, cols)
	if err != nil {
		return WindowStats{}, err
	}
	grids := make([][]float64, len(cols))
	gridDone := make(chan error, 1)
	gctx, cancelGrid := context.WithCancel(ctx)
	defer cancelGrid()
	if withGrid {
		gq.Name = name
		var dest []any
		for i, col := range cols {
			if col.Numeric {
				dest = append(dest, &grids[i])
			}
		}
		go func() { gridDone <- c.QueryRow(gctx, m.Name, gq, dest...) }()
	} else {
		gridDone <- nil
	}
	ws, err := c.windowBins(ctx, m, src, cols, q)
	if err != nil {
		cancelGrid()
		<-gridDone
		return WindowStats{}, err
	}
	if err := <-gridDone; err != nil {
		return WindowStats{}, err
	}
	for i := range cols {
		ws.Columns[i].Grid = grids[i] // nil but for numeric columns
	}
	return ws, nil
}

// windowBins runs q, src's WindowQuery, and folds its state counts.
func (c *Client) windowBins(ctx context.Context, m *config.Model, src Source, cols []Binning, q Query) (WindowStats, error) {
	name := q.Name
	var keys, counts []uint64
	err := c.QueryRows(ctx, m.Name, q, func(scan func(...any) error) error {
		var k, n uint64
		if err := scan(&k, &n); err != nil {
			return err
		}
		keys, counts = append(keys, k), append(counts, n)
		return nil
	})
	if err != nil {
		return WindowStats{}, err
	}
	classes := 0
	if src.ClassScores {
		classes = len(m.Scores)
	}
	keys, counts, segs, err := splitSegmentKeys(cols, src, classes, keys, counts)
	if err != nil {
		return WindowStats{}, fmt.Errorf("query %s: %w", name, err)
	}
	ws, err := foldWindow(cols, keys, counts, src.Scores, classes)
	if err != nil {
		return WindowStats{}, fmt.Errorf("query %s: %w", name, err)
	}
	ws.Segments = segs
	return ws, nil
}

// from renders the FROM clause of a source.
func from(b *sqlBuilder, ids *identifiers, m *config.Model, src Source) {
	if src.Table != "" {
		b.add(" FROM " + ids.table(src.Table))
		return
	}
	fromPredictions(b, ids, m, src)
	wherePredictions(b, ids, m, src)
}

// sourceEngine sets src.Distributed from the engine of the table src reads.
func (c *Client) sourceEngine(ctx context.Context, m *config.Model, src Source, name string) (Source, error) {
	table := src.Table
	if table == "" {
		table = m.Predictions.Table
	}
	info, err := c.Table(ctx, m.Name, table, name)
	src.Distributed = info.Distributed != nil
	return src, err
}

// aggregateRows renders SELECT outer over the source's rows, which inner
// names per row. On one server the rows pass through a subquery:
//
//	SELECT outer FROM (SELECT inner FROM t WHERE …)
//
// From a Distributed table the subquery would have every shard send every
// row of the window to the server the exporter talks to, which would
// aggregate them all. With inner's aliases in WITH, the aggregates sit in
// the query over the table itself, so each shard aggregates its own rows and
// sends only partial states:
//
//	WITH inner SELECT outer FROM t WHERE …
func aggregateRows(b *sqlBuilder, ids *identifiers, m *config.Model, src Source, outer, inner string, innerArgs ...any) {
	if src.Distributed {
		b.add("WITH "+inner, innerArgs...)
		b.add(" SELECT " + outer)
		from(b, ids, m, src)
		return
	}
	b.add("SELECT "+outer+" FROM (SELECT "+inner, innerArgs...)
	from(b, ids, m, src)
	b.add(")")
}

// fromPredictions renders " FROM predictions [SAMPLE r]".
func fromPredictions(b *sqlBuilder, ids *identifiers, m *config.Model, src Source) {
	b.add(" FROM " + ids.table(m.Predictions.Table))
	if src.Sampling.active() && src.Sampling.Clause {
		b.add(" SAMPLE " + strconv.FormatFloat(src.Sampling.Ratio, 'g', -1, 64))
	}
}

// wherePredictions renders the WHERE clause that keeps the model's sampled
// predictions of the window.
func wherePredictions(b *sqlBuilder, ids *identifiers, m *config.Model, src Source) {
	b.add(" WHERE ")
	modelFilter(b, ids, m, src.Models)
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
// rather than bound, and as Float64 literals on every version: an integral
// value gets a ".0", since "16" would be a UInt8 literal. They are not
// wrapped in toFloat64(): 18.16 spent about a fifth more on the drift bins,
// which hold ten such constants per numeric column, with the wrapper
// (docs/benchmarks.md, "Float64 literals").
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
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func floatList(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Join(parts, ", ")
}
