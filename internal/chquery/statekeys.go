package chquery

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-faster/city"
)

// stateKeys is the layout of WindowQuery's state keys, and owns both
// directions: the SQL that encodes a row's state per column (numericSQL,
// categorySQL, scoreSQL) and the decoding of the keys that come back
// (decode). Each row yields key 0 (the row count), one key per column from
// the column's range of stride keys, and, with Source.Scores, one key from
// the score histogram's range after the columns':
//
//	0                         rows
//	(i+1)·stride + 0          column i missing
//	(i+1)·stride + 1 + s      numeric column i, s = numericState's sum
//	(i+1)·stride + 1 + 2b + f categorical column i, bin b, flag f (unseen)
//	scoreBase + 0             no finite score
//	scoreBase + 1 + b         predicted negative, score bucket b
//	scoreBase + 2 + B + b     predicted positive, score bucket b (B = ScoreBuckets)
//
// The Go twins of the encoders (numericKey, categoryKey, scoreKey) compute
// the key a value gets, for the round-trip test.
type stateKeys struct {
	cols   []Binning
	stride uint64
	scores bool
	// classes: a multiclass model's score histograms (Source.ClassScores)
	// take the range after the columns' instead; see classScoreKeys.
	classes int
}

func newStateKeys(cols []Binning, scores bool) stateKeys {
	return stateKeys{cols: cols, stride: stateStride(cols), scores: scores}
}

// base is the first key of column i: its "missing" state.
func (k stateKeys) base(i int) uint64 { return uint64(i+1) * k.stride }

// scoreBase is the first key after the columns': the score histogram's
// "no finite score" state.
func (k stateKeys) scoreBase() uint64 { return k.stride * uint64(len(k.cols)+1) }

// end is the first key after every key the query can yield.
func (k stateKeys) end() uint64 {
	if k.classes > 0 {
		return k.scoreBase() + classScoreStates(k.classes)
	}
	if k.scores {
		return k.scoreBase() + scoreStates
	}
	return k.scoreBase()
}

// keyType is the narrowest type that holds every key: grouping 16-bit keys
// instead of 32-bit ones made the query an eighth cheaper (1.7M rows, 26
// columns, 18.16), and without a cast the sums of comparisons widen to 64
// bits.
func (k stateKeys) keyType() string {
	if k.end()-1 > math.MaxUint16 {
		return "toUInt32"
	}
	return "toUInt16"
}

// rowsSQL is the key every row yields once: the row count.
func (k stateKeys) rowsSQL() string { return k.keyType() + "(0)" }

// numericSQL renders numeric column i's key of x, a Float64 with NULL as
// NaN: missing unless finite, else base + 1 + s (numericState).
func (k stateKeys) numericSQL(i int, x string) string {
	base := k.base(i)
	return k.keyType() + "(if(isFinite(" + x + "), " + numericState(k.cols[i], x, base) + ", " + strconv.FormatUint(base, 10) + "))"
}

// categorySQL renders categorical column i's key of the column col: missing
// when NULL, else base + 1 + 2·bin + flag (categoryState).
func (k stateKeys) categorySQL(i int, col string) string {
	base := strconv.FormatUint(k.base(i), 10)
	return k.keyType() + "(if(isNull(" + col + "), " + base + ", " + base +
		" + 1 + " + categoryState(k.cols[i], "cityHash64(ifNull(toString("+col+"), ''))") + "))"
}

// scoreSQL renders the score histogram's key of the score x (a Float64 with
// NULL as NaN) and the predicted class predicted, with one placeholder for
// the positive class: base when x is not finite, else base + 1 + the
// class's and the bucket's offsets (bucketSQL, as ClassificationQuery
// buckets). The finite flag multiplies instead of choosing with if():
// current releases evaluate an if() whose branch holds a conversion
// lazily (short_circuit_function_evaluation), row by row and outside the
// compiled expressions, and that doubled the multiclass drift pass on
// ClickHouse 26 (docs/benchmarks.md, "The score keys without if()"). The
// bucket of a non-finite score is computed, well-defined, and multiplied
// by 0.
func (k stateKeys) scoreSQL(x, predicted string) string {
	return fmt.Sprintf("%s(%d + isFinite(%s) * (1 + %d * (%s = ?) + %s))",
		k.keyType(), k.scoreBase(), x, ScoreBuckets+1, predicted, bucketSQL(x))
}

// windowState is one key decoded.
type windowState struct {
	rows bool // the row count
	// A column's state: column is its index; missing, or its bin (numeric:
	// bin order; categorical: top category k is bin k, any other value the
	// last bin) and flag (numeric: out of the reference range; categorical:
	// a value the reference never had).
	column  int
	missing bool
	bin     int
	flagged bool
	// A score histogram's state: no finite score, or the predicted class
	// and the score bucket.
	score    bool
	unscored bool
	positive bool
	bucket   int
	// A multiclass score histogram's state (classScore): unscored, or the
	// predicted class's index (len(classes) for any other prediction), the
	// class whose score is bucketed, and bucket.
	classScore bool
	predicted  int
	class      int
}

// decode turns a key back into the state it encodes; a key the layout
// cannot yield is an error.
func (k stateKeys) decode(key uint64) (windowState, error) {
	if key == 0 {
		return windowState{rows: true}, nil
	}
	if base := k.scoreBase(); k.classes > 0 && key >= base {
		return k.decodeClassScore(key - base)
	}
	if base := k.scoreBase(); k.scores && key >= base {
		s := key - base
		switch {
		case s == 0:
			return windowState{score: true, unscored: true}, nil
		case s <= ScoreBuckets+1:
			return windowState{score: true, bucket: int(s - 1)}, nil
		case s < scoreStates:
			return windowState{score: true, positive: true, bucket: int(s - 2 - ScoreBuckets)}, nil
		}
		return windowState{}, fmt.Errorf("key %d beyond the score histogram", key)
	}
	i, state := key/k.stride-1, key%k.stride
	if i >= uint64(len(k.cols)) {
		return windowState{}, fmt.Errorf("key %d names column %d of %d", key, i, len(k.cols))
	}
	c := k.cols[i]
	ws := windowState{column: int(i)}
	if state == 0 {
		ws.missing = true
		return ws, nil
	}
	bins := binCount(c)
	if c.Numeric {
		ws.bin, ws.flagged = numericBin(int(state-1), bins)
	} else {
		ws.bin, ws.flagged = int((state-1)/2), (state-1)%2 == 1
	}
	if ws.bin < 0 || ws.bin >= bins {
		return windowState{}, fmt.Errorf("column %s: state %d outside its %d bins", c.Name, state, bins)
	}
	if !c.Numeric {
		ws.bin-- // top category k is position k-1, any other value last
		if ws.bin < 0 {
			ws.bin = bins - 1
		}
	}
	return ws, nil
}

// numericState renders the state of a finite numeric value x: base + 1 + s,
// where s counts the comparisons x passes, s = [x ≥ lo] + #{edges ≤ x} +
// [x > hi], with lo and hi the reference range. Every edge lies in that
// range, so s = 0 is bin 0 below the range, s = B + 1 is the last bin above
// it, and any other s is bin s − 1 inside it (B bins). One sum of
// comparisons is all the per-row work: the flag costs no OR and no multiply,
// which made 21 numeric columns of 1.7M rows 30% cheaper on 18.16 (1.32 s to
// 0.92 s of server CPU). Without a reference range (the reference had no
// value) the range terms are left out and s counts from 1: never out of
// range.
func numericState(c Binning, x string, base uint64) string {
	terms := []string{}
	lo, hi, ranged := rangeBounds(c)
	if ranged {
		terms = append(terms, "("+x+" >= "+floatLit(lo)+")")
	} else {
		base++ // s = 1 + #{edges ≤ x}
	}
	for _, e := range c.Edges {
		terms = append(terms, "("+x+" >= "+floatLit(e)+")")
	}
	if ranged {
		terms = append(terms, "("+x+" > "+floatLit(hi)+")")
	}
	return strconv.FormatUint(base+1, 10) + pairwiseSum(terms)
}

// numericKey is numericSQL computed in Go: the key column i's value x gets.
func (k stateKeys) numericKey(i int, x float64) uint64 {
	base := k.base(i)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return base
	}
	c := k.cols[i]
	var s uint64
	lo, hi, ranged := rangeBounds(c)
	if ranged {
		s += b2u(x >= lo) + b2u(x > hi)
	} else {
		s = 1
	}
	for _, e := range c.Edges {
		s += b2u(x >= e)
	}
	return base + 1 + s
}

// numericBin decodes numericState's s for a column of bins bins: the bin,
// and whether the value lies outside the reference range. An s beyond
// bins + 1 returns bin −1.
func numericBin(s, bins int) (bin int, outOfRange bool) {
	switch {
	case s == 0:
		return 0, true
	case s <= bins:
		return s - 1, false
	case s == bins+1:
		return bins - 1, true
	}
	return -1, false
}

// pairwiseSum renders " + " and the sum of terms added in pairs, then pairs
// of pairs: ClickHouse widens the type of every sum, so a running sum of
// comparisons (UInt8) is 64 bits wide after three terms, and the tree keeps
// most sums at 16 and 32 bits (3% less server CPU for the window query). ""
// for no terms.
func pairwiseSum(terms []string) string {
	if len(terms) == 0 {
		return ""
	}
	for len(terms) > 1 {
		next := make([]string, 0, (len(terms)+1)/2)
		for i := 0; i+1 < len(terms); i += 2 {
			next = append(next, "("+terms[i]+" + "+terms[i+1]+")")
		}
		if len(terms)%2 == 1 {
			next = append(next, terms[len(terms)-1])
		}
		terms = next
	}
	return " + " + terms[0]
}

// rangeBounds returns the bounds numericState compares with: the reference
// range widened to the outer edges, so that the state decodes to the right
// bin even if an edge, a quantile interpolated in floating point, lay a
// rounding error outside [Min, Max]. ok is false without a finite range.
func rangeBounds(c Binning) (lo, hi float64, ok bool) {
	if math.IsNaN(c.Min) || math.IsNaN(c.Max) || math.IsInf(c.Min, 0) || math.IsInf(c.Max, 0) {
		return 0, 0, false
	}
	lo, hi = c.Min, c.Max
	if n := len(c.Edges); n > 0 {
		lo, hi = min(lo, c.Edges[0]), max(hi, c.Edges[n-1])
	}
	return lo, hi, true
}

// categoryState renders 2·bin + flag of a present categorical value from its
// hash: bin 1…k for the top categories and 0 for any other value; the flag
// marks a value the reference never had, when the reference's values are
// all known (Seen not nil). One transform over 64-bit hashes is a hash
// lookup; indexOf and has over the strings scan them, which made the five
// categorical columns of mlmonbench cost 0.9 s per 1.7M rows instead of
// 0.2 s. The hashes are ClickHouse's cityHash64, computed here. A value
// whose hash collides with a reference value's (about one chance in 2⁶⁴
// per pair) is counted as that value.
func categoryState(c Binning, hash string) string {
	t := categoryTransform(c)
	if len(t.from) == 0 { // an empty array literal has no element type on 18.16
		return strconv.Itoa(t.other)
	}
	from, to := make([]string, len(t.from)), make([]string, len(t.to))
	for j := range t.from {
		from[j], to[j] = strconv.FormatUint(t.from[j], 10), strconv.Itoa(t.to[j])
	}
	return "transform(" + hash + ", [" + strings.Join(from, ", ") + "], [" + strings.Join(to, ", ") + "], " + strconv.Itoa(t.other) + ")"
}

// transform is the arguments of categoryState's transform: hashes, the
// 2·bin + flag each maps to, and other for any hash not listed.
type transform struct {
	from  []uint64
	to    []int
	other int
}

func categoryTransform(c Binning) transform {
	seen := make(map[string]bool, len(c.Seen))
	for _, v := range c.Seen {
		seen[v] = true
	}
	unseen := func(v string) int {
		if c.Seen != nil && !seen[v] {
			return 1
		}
		return 0
	}
	var t transform
	listed := map[uint64]bool{}
	add := func(v string, offset int) {
		h := city.CH64([]byte(v))
		if listed[h] {
			return
		}
		listed[h] = true
		t.from = append(t.from, h)
		t.to = append(t.to, offset)
	}
	for k, v := range c.Categories {
		add(v, 2*(k+1)+unseen(v))
	}
	for _, v := range c.Seen {
		add(v, 0)
	}
	if c.Seen != nil { // without a complete list of reference values, unseen is not counted
		t.other = 1
	}
	return t
}

// categoryKey is categorySQL computed in Go: the key column i's value gets
// (nil for NULL), through the same transform.
func (k stateKeys) categoryKey(i int, value *string) uint64 {
	base := k.base(i)
	if value == nil {
		return base
	}
	t := categoryTransform(k.cols[i])
	h := city.CH64([]byte(*value))
	offset := t.other
	for j, f := range t.from {
		if f == h {
			offset = t.to[j]
			break
		}
	}
	return base + 1 + uint64(offset)
}

// scoreKey is scoreSQL computed in Go: the key of a row's score and
// predicted class.
func (k stateKeys) scoreKey(score float64, positive bool) uint64 {
	base := k.scoreBase()
	if math.IsNaN(score) || math.IsInf(score, 0) {
		return base
	}
	bucket := uint64(math.Floor(max(min(score, 1), 0)*ScoreBuckets + 0.5))
	return base + 1 + (ScoreBuckets+1)*b2u(positive) + bucket
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// scoreStates is how many state keys the score histogram owns after the
// columns': one for rows without a score, then one per bucket for each
// predicted class (negative first).
const scoreStates = 1 + 2*(ScoreBuckets+1)

// stateStride is how many state keys each column owns: 0 for missing, then
// a numeric column's 1 + s (s in 0…B+1) or a categorical column's
// 1 + 2·bin + flag, for the widest column.
func stateStride(cols []Binning) uint64 {
	widest := uint64(1)
	for _, c := range cols {
		widest = max(widest, stateWidth(c))
	}
	return widest
}

// stateWidth is how many states a column has: missing, then a numeric
// column's 1 + s (s in 0…B+1) or a categorical column's 1 + 2·bin + flag.
func stateWidth(c Binning) uint64 {
	n := uint64(binCount(c))
	if c.Numeric {
		return n + 3
	}
	return 2*n + 1
}

// binCount is the number of bins of a column: one more than its edges, or
// its top categories plus one for every other value.
func binCount(c Binning) int {
	if c.Numeric {
		return len(c.Edges) + 1
	}
	return len(c.Categories) + 1
}
