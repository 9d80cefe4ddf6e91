package chquery

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// A multiclass model's scores (config: scores, one probability column per
// class) are read as one histogram per predicted class and class: the
// rows predicted class i, bucketed by class j's score. Classes are indexed
// in the order of config.Model.ScoreClasses; a prediction that is none of
// them is predicted index K (K classes). Each row yields K keys, one per
// class, so the histograms cost K more keys per row in the pass that
// already reads the rows, and no row leaves ClickHouse.

// classScoreStates is how many state keys a multiclass model's histograms
// own after the columns' in WindowQuery: one for rows with a score that is
// not finite (each such row yields it K times), then ScoreBuckets + 1 per
// (predicted class, class) pair, predicted classes K + 1.
func classScoreStates(k int) uint64 {
	return 1 + uint64(k+1)*uint64(k)*(ScoreBuckets+1)
}

// classScoreInner renders the per-row expressions both multiclass queries
// share, with their placeholders' arguments: class j's score as Float64
// (NULL as NaN) mlmon_mc<j>, the predicted class's index mlmon_mi, and
// whether every score is finite, mlmon_mf.
func classScoreInner(ids *identifiers, m *config.Model, predicted string) ([]string, []any) {
	classes := m.ScoreClasses()
	k := len(classes)
	var exprs, finite, marks []string
	args := make([]any, 0, k)
	for j, class := range classes {
		x := "mlmon_mc" + strconv.Itoa(j)
		exprs = append(exprs, numericExpr(ids, m.Scores[class])+" AS "+x)
		finite = append(finite, "isFinite("+x+")")
		marks = append(marks, "?")
		args = append(args, class)
	}
	exprs = append(exprs,
		"indexOf(["+strings.Join(marks, ", ")+"], "+predicted+") AS mlmon_mp",
		fmt.Sprintf("if(mlmon_mp = 0, %d, mlmon_mp - 1) AS mlmon_mi", k),
		"("+strings.Join(finite, " AND ")+") AS mlmon_mf")
	return exprs, args
}

// bucketSQL is the score bucket of x, as ClassificationQuery buckets.
func bucketSQL(x string) string {
	return fmt.Sprintf("toInt32(floor(greatest(least(%s, 1.), 0.) * %d + 0.5))", x, ScoreBuckets)
}

// classScoreSQL renders WindowQuery's inner expressions for a multiclass
// model's histograms: classScoreInner's, then one key per class,
// mlmon_mk<j>: classBase + 0 when some score is not finite, else
// classBase + 1 + (i·K + j)·(ScoreBuckets + 1) + bucket of class j's score,
// i the predicted class's index.
func (k stateKeys) classScoreSQL(ids *identifiers, m *config.Model) ([]string, []any) {
	exprs, args := classScoreInner(ids, m, classLabelExpr(ids, m.Predictions.Prediction))
	base := k.scoreBase()
	for j := range k.classes {
		exprs = append(exprs, fmt.Sprintf("%s(if(mlmon_mf, %d + (mlmon_mi * %d + %d) * %d + %s, %d)) AS mlmon_mk%d",
			k.keyType(), base+1, k.classes, j, ScoreBuckets+1, bucketSQL("mlmon_mc"+strconv.Itoa(j)), base, j))
	}
	return exprs, args
}

// classScoreKey is classScoreSQL computed in Go: the key of class j's
// score for a row predicted i whose scores are all finite (or not).
func (k stateKeys) classScoreKey(predicted, class int, score float64, finite bool) uint64 {
	base := k.scoreBase()
	if !finite {
		return base
	}
	return base + 1 + uint64(predicted*k.classes+class)*(ScoreBuckets+1) + scoreBucket(score)
}

// decodeClassScore decodes s, a key minus scoreBase, of a multiclass
// model's histograms.
func (k stateKeys) decodeClassScore(s uint64) (windowState, error) {
	if s == 0 {
		return windowState{classScore: true, unscored: true}, nil
	}
	if s >= classScoreStates(k.classes) {
		return windowState{}, fmt.Errorf("key %d beyond the class score histograms", s+k.scoreBase())
	}
	cell, b := (s-1)/(ScoreBuckets+1), (s-1)%(ScoreBuckets+1)
	return windowState{classScore: true, predicted: int(cell) / k.classes, class: int(cell) % k.classes, bucket: int(b)}, nil
}

// scoreBucket is the bucket of a finite score: clamped to [0, 1] and
// rounded half up to 1/ScoreBuckets.
func scoreBucket(score float64) uint64 {
	return uint64(max(min(score, 1), 0)*ScoreBuckets + 0.5)
}

// ClassScoreCounts are a window's unlabelled score histograms of a
// multiclass model: Rows[i][j][b] rows predicted class i (index K: any
// other prediction) whose score of class j falls in bucket b.
type ClassScoreCounts struct {
	Rows     [][][]uint64
	Unscored uint64 // rows with a score that is NULL, NaN or infinite
}

func newClassScoreCounts(k int) *ClassScoreCounts {
	h := &ClassScoreCounts{Rows: make([][][]uint64, k+1)}
	for i := range h.Rows {
		h.Rows[i] = make([][]uint64, k)
		for j := range h.Rows[i] {
			h.Rows[i][j] = make([]uint64, ScoreBuckets+1)
		}
	}
	return h
}

func (h *ClassScoreCounts) add(st windowState, n uint64) {
	if st.unscored {
		h.Unscored += n // K keys per row: see finish
		return
	}
	h.Rows[st.predicted][st.class][st.bucket] += n
}

// finish turns the unscored state's count, K per unscored row, into rows.
func (h *ClassScoreCounts) finish() {
	h.Unscored /= uint64(len(h.Rows) - 1)
}

// Scored is the number of rows whose every score is finite.
func (h *ClassScoreCounts) Scored() uint64 {
	var n uint64
	for i := range h.Rows {
		for _, c := range h.Rows[i][0] {
			n += c
		}
	}
	return n
}

// Histograms returns the non-empty buckets as stats.ScoreRows, indexed as
// Rows.
func (h *ClassScoreCounts) Histograms() [][][]stats.ScoreRows {
	out := make([][][]stats.ScoreRows, len(h.Rows))
	for i := range h.Rows {
		out[i] = make([][]stats.ScoreRows, len(h.Rows[i]))
		for j, buckets := range h.Rows[i] {
			for b, n := range buckets {
				if n > 0 {
					out[i][j] = append(out[i][j], stats.ScoreRows{Score: float64(b) / ScoreBuckets, Rows: float64(n)})
				}
			}
		}
	}
	return out
}

// ClassScores are a window's labelled score histograms of a multiclass
// model, from its join with the labels: Hist[i][j] is the histogram of
// class j's score over the labelled rows predicted class i (index K: any
// other prediction), a positive being a row labelled j. Only rows with a
// label and every score finite count; Rows is their number.
type ClassScores struct {
	Rows uint64
	Hist [][][]stats.ScoreBucket // non-empty buckets in score order
}

// ClassScoresQuery reads the window's labelled class score histograms in
// one join (labelJoin, the newest label of each id winning). Each labelled
// row with finite scores yields key 1 once and, for each class j,
// 2 + 2·((i·K + j)·(ScoreBuckets + 1) + bucket) + [label = class j]; any
// other row yields 0, whose count is not used. As ClassificationQuery, the
// label travels as its hash inside the tie-break (labelkey.go), and is
// compared with each class's LabelHash: a label that is not class j but
// shares its hash would count as j, which ClassScores rules out against the
// window's label names before it uses this query (else it uses
// ClassScoresByNameQuery).
func ClassScoresQuery(m *config.Model, src Source) (Query, error) {
	return classScoresQuery(m, src, false)
}

// ClassScoresByNameQuery is ClassScoresQuery with the label as a string
// (argMax of the newest): slower, and exact whatever the labels' hashes.
func ClassScoresByNameQuery(m *config.Model, src Source) (Query, error) {
	return classScoresQuery(m, src, true)
}

func classScoresQuery(m *config.Model, src Source, byName bool) (Query, error) {
	if m.GroundTruth == nil || len(m.Scores) == 0 {
		return Query{}, fmt.Errorf("model %q: class score histograms need ground_truth and scores", m.Name)
	}
	var ids identifiers
	classes := m.ScoreClasses()
	k := len(classes)
	left, leftArgs := classScoreInner(&ids, m, "mlmon_pred")
	// The predicted class must be named before the aliases that read it.
	left = append([]string{classLabelExpr(&ids, m.Predictions.Prediction) + " AS mlmon_pred"}, left...)
	labelExpr := classLabelExpr(&ids, m.GroundTruth.Label)
	right := []string{"max(" + labelTieBreakSQL(ids.col(m.GroundTruth.Timestamp), labelExpr) + ") AS mlmon_tb"}
	matched, label := tieBreakMatchedSQL("mlmon_tb"), tieBreakHashSQL("mlmon_tb")
	if byName {
		right = newestLabel(&ids, m, labelExpr)
		matched, label = "mlmon_matched = 1", "mlmon_label"
	}
	keys := []string{"toUInt32(if((" + matched + " AND mlmon_mf) AS mlmon_ok, 1, 0))"}
	var selArgs []any
	for j, class := range classes {
		keys = append(keys, fmt.Sprintf("toUInt32(if(mlmon_ok, 2 + 2 * ((mlmon_mi * %d + %d) * %d + %s) + (%s = ?), 0))",
			k, j, ScoreBuckets+1, bucketSQL("mlmon_mc"+strconv.Itoa(j)), label))
		if byName {
			selArgs = append(selArgs, class)
		} else {
			selArgs = append(selArgs, LabelHash(class))
		}
	}
	sel := "toUInt64(arrayJoin([" + strings.Join(keys, ", ") + "]) AS mlmon_k) AS k, count() AS n"
	var b sqlBuilder
	labelJoinArgs(&b, &ids, m, src, sel, selArgs, left, leftArgs, right)
	b.add(" GROUP BY mlmon_k")
	joinSettings(&b, src)
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("class_scores"), nil
}

// hashesCollide is whether a label among labels, not itself a class,
// shares a class's LabelHash: ClassScoresQuery would count it as that
// class.
func hashesCollide(classes, labels []string) bool {
	hashes := map[uint64]string{}
	for _, c := range classes {
		hashes[LabelHash(c)] = c
	}
	for _, l := range labels {
		if c, ok := hashes[LabelHash(l)]; ok && c != l {
			return true
		}
	}
	return false
}

// labelJoinArgs is labelJoin with placeholders in left, whose arguments
// come before sel's in the pushdown form (WITH left SELECT sel) and after
// them otherwise (SELECT sel FROM (SELECT left …)).
func labelJoinArgs(b *sqlBuilder, ids *identifiers, m *config.Model, src Source, sel string, selArgs []any,
	left []string, leftArgs []any, right []string) {
	var tmp sqlBuilder
	labelJoin(&tmp, ids, m, src, sel, nil, left, right)
	pushdown := src.Join == JoinLocal || src.Join == JoinGlobal
	args := append(append([]any{}, selArgs...), leftArgs...)
	if pushdown {
		args = append(append([]any{}, leftArgs...), selArgs...)
	}
	b.add(tmp.sb.String(), append(args, tmp.args...)...)
}

// ClassScores runs ClassScoresQuery and folds its groups; labels are the
// window's label names (the classification join's), and when one of them
// shares a class's hash it runs ClassScoresByNameQuery instead.
func (c *Client) ClassScores(ctx context.Context, m *config.Model, src Source, name string, labels []string) (ClassScores, error) {
	build := ClassScoresQuery
	if hashesCollide(m.ScoreClasses(), labels) {
		c.logger.Debug("a label shares a class's hash, joining by name", "model", m.Name, "query", name)
		build = ClassScoresByNameQuery
	}
	q, err := build(m, src)
	if err != nil {
		return ClassScores{}, err
	}
	q.Name = name
	var keys, counts []uint64
	err = c.QueryRows(ctx, m.Name, q, func(scan func(...any) error) error {
		var k, n uint64
		if err := scan(&k, &n); err != nil {
			return err
		}
		keys, counts = append(keys, k), append(counts, n)
		return nil
	})
	if err != nil {
		return ClassScores{}, err
	}
	res, err := FoldClassScores(len(m.Scores), keys, counts)
	if err != nil {
		return ClassScores{}, fmt.Errorf("query %s: %w", name, err)
	}
	return res, nil
}

// FoldClassScores turns ClassScoresQuery's groups into ClassScores, for a
// model of k classes.
func FoldClassScores(k int, keys, counts []uint64) (ClassScores, error) {
	if len(keys) != len(counts) {
		return ClassScores{}, fmt.Errorf("class scores: %d keys, %d counts", len(keys), len(counts))
	}
	cells := uint64(k+1) * uint64(k)
	pos := make([]uint64, cells*(ScoreBuckets+1))
	neg := make([]uint64, len(pos))
	var res ClassScores
	for x, key := range keys {
		n := counts[x]
		switch {
		case key == 0:
		case key == 1:
			res.Rows += n
		case key-2 >= 2*uint64(len(pos)):
			return ClassScores{}, fmt.Errorf("class scores: key %d beyond %d classes' histograms", key, k)
		case (key-2)%2 == 1:
			pos[(key-2)/2] += n
		default:
			neg[(key-2)/2] += n
		}
	}
	res.Hist = make([][][]stats.ScoreBucket, k+1)
	for i := range res.Hist {
		res.Hist[i] = make([][]stats.ScoreBucket, k)
		for j := range res.Hist[i] {
			off := uint64(i*k+j) * (ScoreBuckets + 1)
			for b := uint64(0); b <= ScoreBuckets; b++ {
				if p, q := pos[off+b], neg[off+b]; p+q > 0 {
					res.Hist[i][j] = append(res.Hist[i][j], stats.ScoreBucket{Score: float64(b) / ScoreBuckets, Positives: float64(p), Negatives: float64(q)})
				}
			}
		}
	}
	return res, nil
}
