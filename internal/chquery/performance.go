package chquery

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// ScoreBuckets is the resolution of the score histogram behind ROC AUC:
// scores are rounded to 1/ScoreBuckets. Pairs that fall into one bucket count
// as ties, which bounds the AUC error by half the share of such pairs (about
// 0.0005 for scores spread over [0, 1]); scores with three decimals are exact.
const ScoreBuckets = 1000

// Labels summarises the join of predictions with ground truth over a window.
type Labels struct {
	Predictions uint64    // predictions in the window
	Labeled     uint64    // of those, how many have a label
	LastLabel   time.Time // newest label arrival among them; zero when none
}

// Classification is the aggregate behind every classification metric.
type Classification struct {
	Labels
	Confusion stats.Confusion // labeled rows: [actual][predicted]
	// Scores is the score histogram of labeled rows with a finite score
	// (binary models with a score column); ScoreRows counts those rows and
	// LogLossSum and BrierSum sum their per-row losses.
	Scores     []stats.ScoreBucket
	ScoreRows  float64
	LogLossSum float64
	BrierSum   float64
	// Segments is set when the source asked for it (Source.Segments):
	// [segment][slot], slot 0 being every other value.
	Segments [][]SegmentLabels
	// ClassScores are a multiclass model's labelled class score
	// histograms, when it has scores (multiclass.go); nil otherwise.
	ClassScores *ClassScores
}

// Regression is the aggregate behind the regression metrics.
type Regression struct {
	Labels
	Sums stats.RegressionSums // over labeled rows with finite prediction and label
	// Segments is set when the source asked for it (Source.Segments).
	Segments [][]SegmentLabels
}

// labelJoin renders the performance queries' SELECT sel, whose aggregates
// read the columns aliased in left (the window's predictions) and right (one
// row per labelled id, aggregated from that id's labels: the newest label
// wins, so a correction replaces a mistake). Labels cannot arrive before
// their prediction, so the label side is bounded by the window's start,
// which keeps the right side of the join small. One row per id makes ANY
// LEFT JOIN return one row per prediction on every version, and it is a
// fifth faster than ALL on 18.16.
//
// Both sides meet on cityHash64 of the id rather than the id itself: hashing
// and joining 64-bit keys instead of strings made the join 2.8 times faster
// on 18.16 (mlmonbench, 1.7M predictions against 5M labels: 4.65 s before,
// 1.66 s with this and the tie-break, labelTieBreak). Two ids of one window
// collide with a probability of about n²/2⁶⁵ (10⁻⁶ for five million
// predictions), and a collision would lend one prediction the other's label.
//
// The aggregates sit in the SELECT that holds the join rather than in a
// query around it: 18.16 spends a quarter of a second more per 1.7M rows
// when the joined rows pass through a subquery first.
//
// On one server (and JoinInitiator) the predictions come from a subquery:
//
//	SELECT sel FROM (SELECT cityHash64(id) AS mlmon_id, left… FROM predictions WHERE window) AS mlmon_p
//	ANY LEFT JOIN (labels) AS mlmon_g USING mlmon_id
//
// On a cluster (JoinLocal, JoinGlobal) the predictions table must be the
// query's own FROM, or the shards would only send rows and the server the
// exporter talks to would join them all:
//
//	WITH left… SELECT sel FROM predictions [GLOBAL] ANY LEFT JOIN (labels) AS mlmon_g
//	ON cityHash64(id) = mlmon_id WHERE window
//
// USING cannot name an alias of the left side on current releases, and ON
// takes an expression on both 18.16 and current ones. The caller appends
// GROUP BY.
func labelJoin(b *sqlBuilder, ids *identifiers, m *config.Model, src Source, sel string, selArgs []any, left, right []string) {
	p := m.Predictions
	predSrc := Source{Window: src.Window, Sampling: src.Sampling, Models: src.Models}
	pushdown := src.Join == JoinLocal || src.Join == JoinGlobal
	join := " ANY LEFT JOIN "
	if src.Join == JoinGlobal {
		join = " GLOBAL ANY LEFT JOIN "
	}
	if pushdown {
		b.add("WITH "+strings.Join(left, ", ")+" SELECT "+sel, selArgs...)
		fromPredictions(b, ids, m, predSrc)
		b.add(join)
		labelSide(b, ids, m, src, right)
		b.add(" AS mlmon_g ON cityHash64(" + ids.col(p.ID) + ") = mlmon_id")
		wherePredictions(b, ids, m, predSrc)
		return
	}
	b.add("SELECT "+sel, selArgs...)
	b.add(" FROM (SELECT cityHash64(" + ids.col(p.ID) + ") AS mlmon_id, " + strings.Join(left, ", "))
	from(b, ids, m, predSrc)
	// Current releases require an alias on joined subqueries.
	b.add(") AS mlmon_p" + join)
	labelSide(b, ids, m, src, right)
	b.add(" AS mlmon_g USING mlmon_id")
}

// labelSide renders the join's right side, one row per labelled id of the
// window, with the aggregates in right.
//
// Only the labels of this window's predictions are deduplicated and hashed
// for the join. A ground-truth table shared by several models would
// otherwise be grouped whole once per model: on three models sharing one
// table this halves the time of their three joins. Where the labels are
// Distributed and the join is not local to each shard, the window's ids are
// gathered once and sent to the shards (GLOBAL IN): a plain IN would have
// every shard read the Distributed predictions table again, which ClickHouse
// refuses (distributed_product_mode = 'deny').
//
// The filter reads the predictions table a second time. Before 19.4
// (ClickHouse #4535) a query that locks a table twice deadlocks with an
// ALTER or DROP that asks for the lock between the two: the second read
// waits for the ALTER, the ALTER for the first read, and KILL cannot end a
// lock wait. On such servers (src.ReadOnce) the label side keeps every label
// that arrived since the window's start, and the join drops the ones of
// other predictions: the same result, at the price of grouping them. Where
// those labels are no more than the window's predictions, that price is
// lower than the filter's, and current releases go without it too
// (Client.FilterLabels).
func labelSide(b *sqlBuilder, ids *identifiers, m *config.Model, src Source, right []string) {
	p, g := m.Predictions, m.GroundTruth
	in := " IN "
	if src.Join == JoinGlobal || src.Join == JoinInitiator {
		in = " GLOBAL IN "
	}
	b.add("(SELECT cityHash64("+ids.col(g.ID)+") AS mlmon_id, "+strings.Join(right, ", ")+
		" FROM "+ids.table(g.Table)+" WHERE "+labelsSince(ids, m), src.Window.From.Unix())
	if !src.ReadOnce {
		b.add(" AND mlmon_id" + in + "(SELECT cityHash64(" + ids.col(p.ID) + ")")
		from(b, ids, m, Source{Window: src.Window, Sampling: src.Sampling, Models: src.Models})
		b.add(")")
	}
	b.add(" GROUP BY mlmon_id)")
}

// joinSettings ends a join's SQL with the settings it needs beyond
// QuerySettings: on co-located shards, the Distributed tables inside the
// join are read as each shard's own local tables. A SETTINGS clause, since
// clickhouse-go can send 18.16 only numeric settings.
func joinSettings(b *sqlBuilder, src Source) {
	if src.Join == JoinLocal {
		b.add(" SETTINGS distributed_product_mode = 'local'")
	}
}

// labelsSince is the condition on the labels a window's join may read, with
// one placeholder for the window's start: those that arrived since, and are
// labels. A NULL label (or a NaN or infinite one, for regression) is no
// label: the prediction stays unlabeled rather than gaining a class "" or a
// NaN.
func labelsSince(ids *identifiers, m *config.Model) string {
	g := m.GroundTruth
	present := "isNotNull(" + ids.col(g.Label) + ")"
	if m.Task == config.TaskRegression {
		present = "isFinite(ifNull(toFloat64(" + ids.col(g.Label) + "), nan))"
	}
	return ids.col(g.Timestamp) + " >= toDateTime(?) AND " + present
}

// newestLabel are the label side's aggregates of a join by label value: an
// id's newest label, the time of its newest label, and that it has one.
func newestLabel(ids *identifiers, m *config.Model, labelExpr string) []string {
	return []string{
		"argMax(" + labelExpr + ", " + labelTieBreakSQL(ids.col(m.GroundTruth.Timestamp), labelExpr) + ") AS mlmon_label",
		"max(" + ids.col(m.GroundTruth.Timestamp) + ") AS mlmon_lts",
		"toUInt8(1) AS mlmon_matched",
	}
}

// modelKeySQL is the left side's model of a shared join (Source.Models),
// as a string whatever the column's type.
func modelKeySQL(ids *identifiers, m *config.Model) string {
	return "toString(" + ids.col(m.Predictions.ModelColumn) + ") AS mlmon_model"
}

// classLabelExpr reads a classification label or prediction as a string.
func classLabelExpr(ids *identifiers, col string) string {
	return "ifNull(toString(" + ids.col(col) + "), '')"
}

// ClassificationQuery groups the window's predictions by predicted class,
// actual class and, for binary models with a score, score bucket, so that the
// confusion matrix, ROC AUC, log loss and Brier score come from one join.
//
// The actual class travels as the low 32 bits of its hash (mlmon_lh), packed
// with the label's time into the tie-break (labelTieBreak), so the label
// side of the join is one max() over a UInt64 per id instead of an argMax
// over the label string and a max() of the time. With the grouping moved
// into the join's SELECT (labelJoin), the query went from 3.9 s to 2.2 s of
// server CPU for 1.7M predictions and 5M labels on 18.16. LabelNamesQuery names the hashes
// afterwards; ClassificationByNameQuery is the exact fallback for when two
// names share one.
//
// A labelled row's tie-break is at least the window's start · 2³², so a zero
// one (the join's default) is a prediction without a label.
func ClassificationQuery(m *config.Model, src Source) (Query, error) {
	return classificationQuery(m, src, false)
}

// ClassificationByNameQuery is ClassificationQuery with the actual class as
// a string (mlmon_label): slower, and exact whatever the labels' hashes.
func ClassificationByNameQuery(m *config.Model, src Source) (Query, error) {
	return classificationQuery(m, src, true)
}

func classificationQuery(m *config.Model, src Source, byName bool) (Query, error) {
	if m.GroundTruth == nil {
		return Query{}, fmt.Errorf("model %q has no ground_truth", m.Name)
	}
	var ids identifiers
	labelExpr := classLabelExpr(&ids, m.GroundTruth.Label)
	left := []string{classLabelExpr(&ids, m.Predictions.Prediction) + " AS mlmon_pred"}
	withScore := m.Task == config.TaskBinary && m.Predictions.Score != ""
	if withScore {
		left = append(left, "ifNull(toFloat64("+ids.col(m.Predictions.Score)+"), nan) AS mlmon_score")
	}
	segKeys := joinSegmentKeys{}
	scored := "mlmon_matched = 1 AND isFinite(mlmon_score)"
	if src.Segments.active() {
		// A segment's rows count in its confusion matrix only: the score
		// histogram and losses are the whole model's.
		segKeys.segs = src.Segments.Columns
		left = append(left, segKeys.left(&ids)...)
		scored += " AND mlmon_seg = 0"
	}
	// actual and matched are the grouped columns, lts the newest label's time.
	var actual, matched, lts, positive string
	var right []string
	var positiveArg any
	keys := "mlmon_pred, mlmon_label, mlmon_matched"
	if byName {
		right = newestLabel(&ids, m, labelExpr)
		actual, matched, lts = "mlmon_label", "mlmon_matched", "toUInt64(toUnixTimestamp(max(mlmon_lts))) AS mlmon_lts_max"
		positive, positiveArg = "mlmon_label = ?", m.PositiveClass
	} else {
		right = []string{"max(" + labelTieBreakSQL(ids.col(m.GroundTruth.Timestamp), labelExpr) + ") AS mlmon_tb"}
		actual = tieBreakHashSQL("mlmon_tb") + " AS mlmon_lh"
		matched = "toUInt8(" + tieBreakMatchedSQL("mlmon_tb") + ") AS mlmon_matched"
		lts = "max(" + tieBreakTimeSQL("mlmon_tb") + ") AS mlmon_lts_max"
		positive, positiveArg = "mlmon_lh = ?", LabelHash(m.PositiveClass)
		keys = "mlmon_pred, mlmon_lh, mlmon_matched"
	}
	var sel string
	var selArgs []any
	if withScore {
		// Per-row losses follow scikit-learn: log loss clips the probability
		// to [eps, 1-eps]; both use the score clamped to [0, 1]. The aliases
		// live inside the keys and aggregates: a SELECT that groups may name
		// nothing else.
		sel = "mlmon_pred, " + actual + ", " + matched + ", " +
			"if((" + scored + ") AS mlmon_scored, " +
			"toInt32(" + clampedBucketSQL("("+clampSQL("mlmon_score")+" AS mlmon_s)") + "), -1) AS mlmon_bucket, " +
			"count() AS mlmon_n, " +
			"sum(if(mlmon_scored, -((toUInt8(" + positive + ") AS mlmon_y) * log(" +
			fmt.Sprintf("greatest(least(mlmon_s, 1. - %g), %g) AS mlmon_pc", stats.LogLossEpsilon, stats.LogLossEpsilon) +
			") + (1 - mlmon_y) * log(1 - mlmon_pc)), 0.)) AS mlmon_ll, " +
			"sum(if(mlmon_scored, pow(mlmon_s - mlmon_y, 2), 0.)) AS mlmon_brier, " + lts
		selArgs = []any{positiveArg}
		keys += ", mlmon_bucket"
	} else {
		sel = "mlmon_pred, " + actual + ", " + matched + ", toInt32(-1) AS mlmon_bucket, count() AS mlmon_n, " +
			"0. AS mlmon_ll, 0. AS mlmon_brier, " + lts
	}
	if segKeys.segs != nil {
		sel += ", " + segKeys.keySQL()
		keys += ", mlmon_seg"
	}
	if classScored(m) {
		csLeft, csSel := classScoreJoinSQL(&ids, m, segKeys.segs != nil)
		left = append(left, csLeft...)
		sel += ", " + csSel
	}
	if len(src.Models) > 0 {
		if segKeys.segs != nil {
			return Query{}, fmt.Errorf("model %q: a join shared by models cannot count segments", m.Name)
		}
		left = append(left, modelKeySQL(&ids, m))
		sel += ", mlmon_model"
		keys += ", mlmon_model"
	}
	var b sqlBuilder
	labelJoin(&b, &ids, m, src, sel, selArgs, left, right)
	b.add(" GROUP BY " + keys)
	joinSettings(&b, src)
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("classification"), nil
}

// LabelNamesQuery lists the distinct labels, as strings, whose labelHashSQL is
// one of hashes, among the labels a window's join may read. A hash with two
// names is a collision that ClassificationQuery cannot resolve.
func LabelNamesQuery(m *config.Model, src Source, hashes []uint64) (Query, error) {
	if m.GroundTruth == nil {
		return Query{}, fmt.Errorf("model %q has no ground_truth", m.Name)
	}
	var ids identifiers
	g := m.GroundTruth
	labelExpr := classLabelExpr(&ids, g.Label)
	list := make([]string, len(hashes))
	for i, h := range hashes {
		list[i] = strconv.FormatUint(h, 10)
	}
	var b sqlBuilder
	b.add("SELECT DISTINCT "+labelExpr+" AS mlmon_label FROM "+ids.table(g.Table)+" WHERE "+labelsSince(&ids, m)+
		" AND "+labelHashSQL(labelExpr)+" IN ("+strings.Join(list, ", ")+")", src.Window.From.Unix())
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("classification"), nil
}

// classificationRow is one group of a classification query.
type classificationRow struct {
	pred, label string
	hash        uint64 // LabelHash of the label, when it travelled hashed
	matched     bool
	bucket      int32
	n           uint64
	ll, brier   float64
	lts         uint64
	seg         uint16 // joinSegmentKeys' key; 0 without segments
	// csKeys and csRows are the group's class score map (classScoreJoinSQL).
	csKeys []uint32
	csRows []uint64
	model  string // the group's model, in a join shared by models
}

// Classification runs ClassificationQuery, names its label hashes with
// LabelNamesQuery, and folds the groups. When two labels share a hash (or a
// label shares the positive class's), it answers from
// ClassificationByNameQuery instead.
func (c *Client) Classification(ctx context.Context, m *config.Model, src Source, name string) (Classification, error) {
	rows, err := c.classificationGroups(ctx, m, src, name)
	if err != nil {
		return Classification{}, err
	}
	if !src.Segments.active() {
		return foldClassification(m, rows)
	}
	return foldSegmentedClassification(m, src.Segments.Columns, rows)
}

// ClassificationByModel is Classification for the models of a shared join
// (src.Models), in one query: each model's result, by name. A model without
// predictions in the window gets an empty one, as its own join would.
//
// The groups are folded as they arrive, by label hash, and the hashes named
// afterwards: a join shared by thirty models returns some 120,000 groups,
// and holding them took the exporter's peak RSS from 50 to 138 MiB
// (docs/benchmarks.md, "Many models").
func (c *Client) ClassificationByModel(ctx context.Context, m *config.Model, src Source, name string) (map[string]Classification, error) {
	if len(src.Models) == 0 {
		return nil, fmt.Errorf("model %q: a shared join names no models", m.Name)
	}
	q, err := ClassificationQuery(m, src)
	if err != nil {
		return nil, err
	}
	q.Name = name
	folds := make(map[string]*classificationFold, len(src.Models))
	for _, model := range src.Models {
		folds[model] = newClassificationFold(m)
	}
	// Until the hashes are named, a label is its hash in decimal.
	hashKeys := map[uint64]string{}
	positive := LabelHash(m.PositiveClass)
	err = c.scanClassification(ctx, m, q, false, false, true, func(r *classificationRow) error {
		f := folds[r.model]
		if f == nil {
			return fmt.Errorf("the join returned model %q, which it was not asked for", r.model)
		}
		key, ok := hashKeys[r.hash]
		if !ok && r.matched {
			key = strconv.FormatUint(r.hash, 10)
			hashKeys[r.hash] = key
		}
		r.label = key
		return f.add(r, r.hash == positive)
	})
	if err != nil {
		return nil, err
	}
	want := make(map[uint64]bool, len(hashKeys))
	for h := range hashKeys {
		want[h] = true
	}
	names, err := c.labelNames(ctx, m, src, name, want)
	if err != nil {
		return nil, err
	}
	if names == nil {
		return c.classificationByModelByName(ctx, m, src, name)
	}
	out := make(map[string]Classification, len(src.Models))
	for model, f := range folds {
		res := f.result()
		named := make(stats.Confusion, len(res.Confusion))
		for h, key := range hashKeys {
			if row, ok := res.Confusion[key]; ok {
				named[names[h]] = row
			}
		}
		res.Confusion = named
		out[model] = res
	}
	return out, nil
}

// classificationByModelByName is ClassificationByModel where two labels
// share a hash: the exact and slower join by name, its groups kept until
// they are folded.
func (c *Client) classificationByModelByName(ctx context.Context, m *config.Model, src Source, name string) (map[string]Classification, error) {
	rows, err := c.classificationRowsByName(ctx, m, src, name)
	if err != nil {
		return nil, err
	}
	byModel := map[string][]classificationRow{}
	for _, r := range rows {
		byModel[r.model] = append(byModel[r.model], r)
	}
	out := make(map[string]Classification, len(src.Models))
	for _, model := range src.Models {
		if out[model], err = foldClassification(m, byModel[model]); err != nil {
			return nil, fmt.Errorf("model %q: %w", model, err)
		}
	}
	return out, nil
}

// classificationGroups runs src's classification join and names the
// groups' labels.
func (c *Client) classificationGroups(ctx context.Context, m *config.Model, src Source, name string) ([]classificationRow, error) {
	q, err := ClassificationQuery(m, src)
	if err != nil {
		return nil, err
	}
	q.Name = name
	rows, err := c.classificationRows(ctx, m, q, false, src.Segments.active(), false)
	if err != nil {
		return nil, err
	}
	want := map[uint64]bool{}
	for _, r := range rows {
		if r.matched {
			want[r.hash] = true
		}
	}
	names, err := c.labelNames(ctx, m, src, name, want)
	if err != nil {
		return nil, err
	}
	if names == nil {
		return c.classificationRowsByName(ctx, m, src, name)
	}
	for i := range rows {
		rows[i].label = names[rows[i].hash]
	}
	return rows, nil
}

// classificationRowsByName is the fallback of a join whose label hashes
// collide: its groups from ClassificationByNameQuery, exact and slower.
func (c *Client) classificationRowsByName(ctx context.Context, m *config.Model, src Source, name string) ([]classificationRow, error) {
	c.logger.Debug("label hashes collide, joining by name", "model", m.Name, "query", name)
	q, err := ClassificationByNameQuery(m, src)
	if err != nil {
		return nil, err
	}
	q.Name = name
	return c.classificationRows(ctx, m, q, true, src.Segments.active(), len(src.Models) > 0)
}

// labelNames maps the label hashes in want to their names, or returns nil
// when a hash has two names or none (labels changed between the queries).
func (c *Client) labelNames(ctx context.Context, m *config.Model, src Source, name string, want map[uint64]bool) (map[uint64]string, error) {
	names := map[uint64]string{}
	if len(want) == 0 {
		return names, nil
	}
	hashes := make([]uint64, 0, len(want))
	for h := range want {
		hashes = append(hashes, h)
	}
	slices.Sort(hashes)
	q, err := LabelNamesQuery(m, src, hashes)
	if err != nil {
		return nil, err
	}
	q.Name = name
	// The positive class is a name too, where the query compares with its
	// hash: a label sharing it would count as positive in the losses.
	known := map[uint64]string{}
	if m.Task == config.TaskBinary && m.Predictions.Score != "" {
		known[LabelHash(m.PositiveClass)] = m.PositiveClass
	}
	collision := false
	err = c.QueryRows(ctx, m.Name, q, func(scan func(...any) error) error {
		var label string
		if err := scan(&label); err != nil {
			return err
		}
		h := LabelHash(label)
		if prev, ok := known[h]; ok && prev != label {
			collision = true
		}
		known[h] = label
		names[h] = label
		return nil
	})
	if err != nil {
		return nil, err
	}
	for h := range want {
		if _, ok := names[h]; !ok {
			collision = true
		}
	}
	if collision {
		return nil, nil
	}
	return names, nil
}

// classificationRows runs a classification query and returns its groups.
func (c *Client) classificationRows(ctx context.Context, m *config.Model, q Query, byName, segmented, shared bool) ([]classificationRow, error) {
	var rows []classificationRow
	err := c.scanClassification(ctx, m, q, byName, segmented, shared, func(r *classificationRow) error {
		rows = append(rows, *r)
		return nil
	})
	return rows, err
}

// scanClassification runs a classification query and hands each group to
// fn, which must not keep r.
func (c *Client) scanClassification(ctx context.Context, m *config.Model, q Query, byName, segmented, shared bool, fn func(r *classificationRow) error) error {
	var (
		r       classificationRow
		matched uint8
	)
	// One set of destinations for every row: a binary model with a score
	// returns thousands of groups, and a row and its destinations allocated
	// for each were most of what a scrape allocated.
	dest := []any{&r.pred, &r.hash, &matched, &r.bucket, &r.n, &r.ll, &r.brier, &r.lts}
	if byName {
		dest[1] = &r.label
	}
	if segmented {
		dest = append(dest, &r.seg)
	}
	if classScored(m) {
		dest = append(dest, &r.csKeys, &r.csRows)
	}
	if shared {
		dest = append(dest, &r.model)
	}
	return c.QueryRows(ctx, m.Name, q, func(scan func(dest ...any) error) error {
		r = classificationRow{} // the class score maps must not share a row's arrays
		if err := scan(dest...); err != nil {
			return err
		}
		r.matched = matched == 1
		return fn(&r)
	})
}

// foldClassification turns the groups into the confusion matrix, the score
// histogram and the loss sums, and a multiclass model's class score
// histograms.
func foldClassification(m *config.Model, rows []classificationRow) (Classification, error) {
	f := newClassificationFold(m)
	for i := range rows {
		if err := f.add(&rows[i], rows[i].label == m.PositiveClass); err != nil {
			return Classification{}, err
		}
	}
	return f.result(), nil
}

// classificationFold accumulates the groups of one model's classification
// join.
type classificationFold struct {
	res     Classification
	buckets map[int32]*stats.ScoreBucket
	cs      *ClassScoreFold
}

func newClassificationFold(m *config.Model) *classificationFold {
	f := &classificationFold{res: Classification{Confusion: stats.Confusion{}}, buckets: map[int32]*stats.ScoreBucket{}}
	if classScored(m) {
		f.cs = NewClassScoreFold(m.ScoreClasses())
	}
	return f
}

// add folds one group; positive says its label is the positive class.
func (f *classificationFold) add(r *classificationRow, positive bool) error {
	res := &f.res
	res.Predictions += r.n
	if !r.matched {
		return nil
	}
	if f.cs != nil {
		if err := f.cs.Add(r.pred, r.label, r.csKeys, r.csRows); err != nil {
			return err
		}
	}
	res.Labeled += r.n
	if t := time.Unix(int64(r.lts), 0); r.lts > 0 && t.After(res.LastLabel) {
		res.LastLabel = t
	}
	row := res.Confusion[r.label]
	if row == nil {
		row = map[string]float64{}
		res.Confusion[r.label] = row
	}
	row[r.pred] += float64(r.n)
	if r.bucket < 0 {
		return nil
	}
	sb := f.buckets[r.bucket]
	if sb == nil {
		sb = &stats.ScoreBucket{Score: float64(r.bucket) / ScoreBuckets}
		f.buckets[r.bucket] = sb
	}
	if positive {
		sb.Positives += float64(r.n)
	} else {
		sb.Negatives += float64(r.n)
	}
	res.ScoreRows += float64(r.n)
	res.LogLossSum += r.ll
	res.BrierSum += r.brier
	return nil
}

func (f *classificationFold) result() Classification {
	res := f.res
	for _, sb := range f.buckets {
		res.Scores = append(res.Scores, *sb)
	}
	if f.cs != nil {
		res.ClassScores = f.cs.Result()
	}
	return res
}

// RegressionQuery aggregates the error sums of the window's labeled rows in
// one join; rows whose prediction or label is not finite are left out of the
// error sums but still count as predictions and labels.
func RegressionQuery(m *config.Model, src Source) (Query, error) {
	if m.GroundTruth == nil {
		return Query{}, fmt.Errorf("model %q has no ground_truth", m.Name)
	}
	var ids identifiers
	predExpr := "ifNull(toFloat64(" + ids.col(m.Predictions.Prediction) + "), nan)"
	labelExpr := "ifNull(toFloat64(" + ids.col(m.GroundTruth.Label) + "), nan)"
	sel := strings.Join([]string{
		"count() AS mlmon_predictions",
		"countIf(mlmon_matched = 1) AS mlmon_labeled",
		"toUInt64(toUnixTimestamp(maxIf(mlmon_lts, mlmon_matched = 1))) AS mlmon_lts_max",
		"countIf((mlmon_matched = 1 AND isFinite(mlmon_pred) AND isFinite(mlmon_label)) AS mlmon_ok) AS mlmon_n",
		"sumIf(abs(mlmon_pred - mlmon_label), mlmon_ok) AS mlmon_sum_abs",
		"sumIf(pow(mlmon_pred - mlmon_label, 2), mlmon_ok) AS mlmon_sum_sq",
		"sumIf(abs((mlmon_pred - mlmon_label) / mlmon_label), mlmon_ok AND mlmon_label != 0) AS mlmon_sum_pct",
		"countIf(mlmon_ok AND mlmon_label != 0) AS mlmon_n_nonzero",
		"varPopIf(mlmon_label, mlmon_ok) AS mlmon_var_label",
	}, ", ")
	left := []string{predExpr + " AS mlmon_pred"}
	segKeys := joinSegmentKeys{}
	if src.Segments.active() {
		segKeys.segs = src.Segments.Columns
		left = append(left, segKeys.left(&ids)...)
		sel += ", " + segKeys.keySQL()
	}
	if len(src.Models) > 0 {
		if segKeys.segs != nil {
			return Query{}, fmt.Errorf("model %q: a join shared by models cannot count segments", m.Name)
		}
		left = append(left, modelKeySQL(&ids, m))
		sel += ", mlmon_model"
	}
	var b sqlBuilder
	labelJoin(&b, &ids, m, src, sel, nil, left, newestLabel(&ids, m, labelExpr))
	if segKeys.segs != nil {
		b.add(" GROUP BY mlmon_seg")
	}
	if len(src.Models) > 0 {
		b.add(" GROUP BY mlmon_model")
	}
	if ids.err != nil {
		return Query{}, ids.err
	}
	joinSettings(&b, src)
	return b.query("regression"), nil
}

// Regression runs RegressionQuery.
func (c *Client) Regression(ctx context.Context, m *config.Model, src Source, name string) (Regression, error) {
	q, err := RegressionQuery(m, src)
	if err != nil {
		return Regression{}, err
	}
	q.Name = name
	if src.Segments.active() {
		return c.segmentedRegression(ctx, m, q, src.Segments.Columns)
	}
	var r regressionRow
	if err := c.QueryRow(ctx, m.Name, q, r.dest()...); err != nil {
		return Regression{}, err
	}
	return r.regression(), nil
}

// RegressionByModel is Regression for the models of a shared join
// (src.Models), in one query: each model's result, by name. A model without
// predictions in the window gets what its own join would return.
func (c *Client) RegressionByModel(ctx context.Context, m *config.Model, src Source, name string) (map[string]Regression, error) {
	if len(src.Models) == 0 {
		return nil, fmt.Errorf("model %q: a shared join names no models", m.Name)
	}
	q, err := RegressionQuery(m, src)
	if err != nil {
		return nil, err
	}
	q.Name = name
	out := make(map[string]Regression, len(src.Models))
	err = c.QueryRows(ctx, m.Name, q, func(scan func(...any) error) error {
		var (
			r     regressionRow
			model string
		)
		if err := scan(append(r.dest(), &model)...); err != nil {
			return err
		}
		out[model] = r.regression()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, model := range src.Models {
		if _, ok := out[model]; !ok {
			// An aggregate without GROUP BY over no rows: counts and sums
			// 0, the label's variance undefined.
			out[model] = Regression{Sums: stats.RegressionSums{LabelVarPop: math.NaN()}}
		}
	}
	return out, nil
}

// regressionRow is one row of RegressionQuery.
type regressionRow struct {
	res         Regression
	lts         uint64
	n, nNonZero uint64
	varLabel    float64
	seg         uint16 // joinSegmentKeys' key, with segments
}

func (r *regressionRow) dest() []any {
	return []any{&r.res.Predictions, &r.res.Labeled, &r.lts, &r.n,
		&r.res.Sums.SumAbsError, &r.res.Sums.SumSqError, &r.res.Sums.SumAbsPctErr, &r.nNonZero, &r.varLabel}
}

func (r *regressionRow) regression() Regression {
	res := r.res
	if res.Labeled > 0 && r.lts > 0 {
		res.LastLabel = time.Unix(int64(r.lts), 0)
	}
	res.Sums.N = float64(r.n)
	res.Sums.NNonZero = float64(r.nNonZero)
	res.Sums.LabelVarPop = r.varLabel
	return res
}

// SharedJoinKey groups the models whose performance joins over w can be one
// query (Source.Models): models with equal keys read the same tables and
// columns with the same task and differ only by the model column's value.
// ok is false for a model that joins alone: one without labels or a model
// column, a sampled one (its sampling key is its table's), and one with
// segments or class scores, whose groups already carry keys of their own.
func SharedJoinKey(m *config.Model, w Window) (key string, ok bool) {
	if m.GroundTruth == nil || m.Predictions.ModelColumn == "" || (m.Sample > 0 && m.Sample < 1) ||
		len(m.Segments) > 0 || classScored(m) {
		return "", false
	}
	return fmt.Sprintf("%q %q %#v %#v %d %d", m.Task, m.PositiveClass, m.Predictions, *m.GroundTruth,
		w.From.Unix(), w.To.Unix()), true
}
