package chquery

import (
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

// bucketSQL is the score bucket of x (scoreBucket): clampSQL, then
// clampedBucketSQL.
func bucketSQL(x string) string {
	return clampedBucketSQL(clampSQL(x))
}

// clampSQL is the score x clamped to [0, 1], NaN taken to 0, so that no NaN
// reaches a bucket's conversion, which current releases refuse
// (CANNOT_CONVERT_TYPE): the state keys compute the buckets of every row,
// unscored ones included (stateKeys.scoreSQL says why).
func clampSQL(x string) string {
	return "if(" + x + " > 0., least(" + x + ", 1.), 0.)"
}

// clampedBucketSQL is the score bucket of clamped, a score already clamped
// to [0, 1]: the floor of clamped · ScoreBuckets + 0.5. The clamped score is
// non-negative, so truncating to an integer is the floor, and the one
// conversion is cheaper than floor and a cast (docs/benchmarks.md, "The
// score bucket's form").
func clampedBucketSQL(clamped string) string {
	return fmt.Sprintf("toUInt16(%s * %d + 0.5)", clamped, ScoreBuckets)
}

// classScoreSQL renders WindowQuery's inner expressions for a multiclass
// model's histograms: classScoreInner's, then one key per class,
// mlmon_mk<j>: classBase + 0 when some score is not finite, else
// classBase + 1 + (i·K + j)·(ScoreBuckets + 1) + bucket of class j's score,
// i the predicted class's index. The finite flag multiplies, as in
// stateKeys.scoreSQL, and the predicted class's offset, 1 + i·K·(ScoreBuckets
// + 1), is computed once per row (mlmon_mo): 18.16 computes each operation
// over the whole block.
func (k stateKeys) classScoreSQL(ids *identifiers, m *config.Model) ([]string, []any) {
	exprs, args := classScoreInner(ids, m, classLabelExpr(ids, m.Predictions.Prediction))
	exprs = append(exprs, fmt.Sprintf("1 + mlmon_mi * %d AS mlmon_mo", k.classes*(ScoreBuckets+1)))
	base := k.scoreBase()
	for j := range k.classes {
		offset := "mlmon_mo"
		if j > 0 {
			offset += fmt.Sprintf(" + %d", j*(ScoreBuckets+1))
		}
		exprs = append(exprs, fmt.Sprintf("%s(%d + mlmon_mf * (%s + %s)) AS mlmon_mk%d",
			k.keyType(), base, offset, bucketSQL("mlmon_mc"+strconv.Itoa(j)), j))
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
// model, from its classification join: Hist[i][j] is the histogram of
// class j's score over the labelled rows predicted class i (index K: any
// other prediction), a positive being a row labelled j. Only rows with a
// label and every score finite count; Rows is their number.
type ClassScores struct {
	Rows uint64
	Hist [][][]stats.ScoreBucket // non-empty buckets in score order
}

// classScored is whether ClassificationQuery also reads m's labelled class
// score histograms: a multiclass model with scores.
func classScored(m *config.Model) bool {
	return m.Task == config.TaskMulticlass && len(m.Scores) > 0
}

// classScoreJoinSQL renders what ClassificationQuery adds for a multiclass
// model with scores, so that its labelled class score histograms ride in
// the join that already groups the labelled rows by predicted and actual
// class (as a binary model's score buckets do), and no second join runs:
// the left side's class scores (mlmon_mc<j>, NULL as NaN) and whether all
// are finite (mlmon_mf), and one more aggregate, a sumMap per group of the
// keys j·(ScoreBuckets + 1) + bucket of class j's score, one per class, of
// each labelled row whose scores are all finite (and, with segments, of
// the whole model's rows only). Its two arrays come back as mlmon_csk (the
// keys) and mlmon_csn (their rows). The group's predicted and actual class
// say which histogram a key's rows fall in, and whether as positives, when
// the rows are folded (ClassScores.addGroup); the labels' names come as the
// confusion matrix's do, hashed with LabelNamesQuery or by name.
func classScoreJoinSQL(ids *identifiers, m *config.Model, segmented bool) (left []string, sel string) {
	var finite, keys, ones []string
	for j, class := range m.ScoreClasses() {
		x := "mlmon_mc" + strconv.Itoa(j)
		left = append(left, numericExpr(ids, m.Scores[class])+" AS "+x)
		finite = append(finite, "isFinite("+x+")")
		keys = append(keys, fmt.Sprintf("toUInt32(%d + %s)", j*(ScoreBuckets+1), bucketSQL(x)))
		ones = append(ones, "toUInt64(1)")
	}
	left = append(left, "("+strings.Join(finite, " AND ")+") AS mlmon_mf")
	ok := "mlmon_matched = 1 AND mlmon_mf"
	if segmented {
		ok += " AND mlmon_seg = 0"
	}
	sel = "tupleElement(sumMap(if((" + ok + ") AS mlmon_csok, [" + strings.Join(keys, ", ") + "], emptyArrayUInt32()), " +
		"if(mlmon_csok, [" + strings.Join(ones, ", ") + "], emptyArrayUInt64())) AS mlmon_cs, 1) AS mlmon_csk, " +
		"tupleElement(mlmon_cs, 2) AS mlmon_csn"
	return left, sel
}

// newClassScores are empty histograms of k classes.
func newClassScores(k int) *ClassScores {
	cs := &ClassScores{Hist: make([][][]stats.ScoreBucket, k+1)}
	for i := range cs.Hist {
		cs.Hist[i] = make([][]stats.ScoreBucket, k)
	}
	return cs
}

// ClassScoreFold gathers ClassificationQuery's class score maps group by
// group into a model's ClassScores.
type ClassScoreFold struct {
	classes []string
	index   map[string]int
	pos     [][]uint64 // [i·K + j][bucket]
	neg     [][]uint64
	rows    uint64
}

func NewClassScoreFold(classes []string) *ClassScoreFold {
	k := len(classes)
	f := &ClassScoreFold{classes: classes, index: map[string]int{},
		pos: make([][]uint64, (k+1)*k), neg: make([][]uint64, (k+1)*k)}
	for j, c := range classes {
		f.index[c] = j
	}
	for x := range f.pos {
		f.pos[x] = make([]uint64, ScoreBuckets+1)
		f.neg[x] = make([]uint64, ScoreBuckets+1)
	}
	return f
}

// Add folds one group's map: rows predicted pred and labelled label, whose
// class j's score fell in bucket b counts[x] times, keys[x] being
// j·(ScoreBuckets + 1) + b.
func (f *ClassScoreFold) Add(pred, label string, keys []uint32, counts []uint64) error {
	if len(keys) != len(counts) {
		return fmt.Errorf("class scores: %d keys, %d counts", len(keys), len(counts))
	}
	k := len(f.classes)
	i, ok := f.index[pred]
	if !ok {
		i = k
	}
	for x, key := range keys {
		j, b := int(key/(ScoreBuckets+1)), key%(ScoreBuckets+1)
		if j >= k {
			return fmt.Errorf("class scores: key %d beyond %d classes' histograms", key, k)
		}
		n := counts[x]
		if j == 0 {
			f.rows += n
		}
		if label == f.classes[j] {
			f.pos[i*k+j][b] += n
		} else {
			f.neg[i*k+j][b] += n
		}
	}
	return nil
}

// Result is the folded histograms, non-empty buckets in score order.
func (f *ClassScoreFold) Result() *ClassScores {
	k := len(f.classes)
	cs := newClassScores(k)
	cs.Rows = f.rows
	for i := range cs.Hist {
		for j := range cs.Hist[i] {
			pos, neg := f.pos[i*k+j], f.neg[i*k+j]
			for b := range pos {
				if p, q := pos[b], neg[b]; p+q > 0 {
					cs.Hist[i][j] = append(cs.Hist[i][j], stats.ScoreBucket{Score: float64(b) / ScoreBuckets, Positives: float64(p), Negatives: float64(q)})
				}
			}
		}
	}
	return cs
}
