package chquery

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-faster/city"

	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// Segment is one segment column and the values it tracks: the reference's
// most frequent, most frequent first. A row's slot is k+1 when its value is
// Values[k] and 0 for any other value, NULL included (stats.OtherCategory).
type Segment struct {
	Column string
	Values []string
	// Features asks the window pass to count every feature's bins per
	// slot too (per-segment feature drift; see windowSegmentKeys.featureBase).
	Features bool
}

// Slots is the number of slots of the segment: its values and "other".
func (s Segment) Slots() int { return len(s.Values) + 1 }

// SlotValue names slot v: a tracked value, or stats.OtherCategory for 0.
func (s Segment) SlotValue(v int) string {
	if v == 0 {
		return stats.OtherCategory
	}
	return s.Values[v-1]
}

// Segments asks the window pass (WindowQuery) and the performance joins
// (ClassificationQuery, RegressionQuery) to count each segment value's rows
// too, in the same pass: every row yields one more grouping key per segment
// column, so the cost grows with the number of segment columns, not with
// their values.
type Segments struct {
	Columns []Segment
	// Output is the index, among the window pass's binnings, of the
	// model's output column, whose bins the window pass counts per segment
	// value; -1 counts rows only.
	Output int
	// ClassScores asks the window pass, with Source.ClassScores, for each
	// segment value's class score histograms too, at a coarser resolution
	// (see segments_multiclass.go).
	ClassScores bool
}

func (s *Segments) active() bool { return s != nil && len(s.Columns) > 0 }

// segmentSlotSQL renders the slot of the row's value of segment s: a
// transform of the value's hash, as categoryState bins (a hash lookup, where
// indexOf would compare strings), with NULL as slot 0. Values read as
// toString renders them, as CategoriesQuery lists them.
func segmentSlotSQL(ids *identifiers, s Segment) string {
	col := ids.col(s.Column)
	if len(s.Values) == 0 { // an empty array literal has no element type on 18.16
		return "toUInt8(0)"
	}
	var from, to []string
	seen := map[uint64]bool{}
	for k, v := range s.Values {
		h := city.CH64([]byte(v))
		if seen[h] {
			continue
		}
		seen[h] = true
		from, to = append(from, strconv.FormatUint(h, 10)), append(to, strconv.Itoa(k+1))
	}
	return "if(isNull(" + col + "), 0, transform(cityHash64(ifNull(toString(" + col + "), '')), [" +
		strings.Join(from, ", ") + "], [" + strings.Join(to, ", ") + "], 0))"
}

// segmentSlotAlias is the alias of segment j's slot in a query.
func segmentSlotAlias(j int) string { return "mlmon_g" + strconv.Itoa(j) }

// --- the performance joins -------------------------------------------------

// joinSegmentKeys are the performance joins' segment keys: 0 for the whole
// model, and 1 + the slots of the segments before j + slot for segment j.
// Every joined row is counted once per key (arrayJoin, after the join, so
// the join itself reads each row once).
type joinSegmentKeys struct{ segs []Segment }

func (k joinSegmentKeys) offset(j int) int {
	off := 1
	for _, s := range k.segs[:j] {
		off += s.Slots()
	}
	return off
}

// left are the join's left-side aliases: each segment's slot.
func (k joinSegmentKeys) left(ids *identifiers) []string {
	out := make([]string, len(k.segs))
	for j, s := range k.segs {
		out[j] = segmentSlotSQL(ids, s) + " AS " + segmentSlotAlias(j)
	}
	return out
}

// keySQL renders the grouped key mlmon_seg, to be added to the SELECT.
func (k joinSegmentKeys) keySQL() string {
	keys := []string{"toUInt16(0)"}
	for j := range k.segs {
		keys = append(keys, fmt.Sprintf("toUInt16(%d + %s)", k.offset(j), segmentSlotAlias(j)))
	}
	return "arrayJoin([" + strings.Join(keys, ", ") + "]) AS mlmon_seg"
}

// decode turns a key back into the segment and slot; whole is the model's
// own key.
func (k joinSegmentKeys) decode(key uint16) (seg, slot int, whole bool, err error) {
	if key == 0 {
		return 0, 0, true, nil
	}
	for j, s := range k.segs {
		off := k.offset(j)
		if int(key) >= off && int(key) < off+s.Slots() {
			return j, int(key) - off, false, nil
		}
	}
	return 0, 0, false, fmt.Errorf("segment key %d beyond the %d segments", key, len(k.segs))
}

// SegmentLabels is one segment value's rows in a performance window: its
// predictions, its labelled ones and, by task, their confusion matrix
// (classification) or error sums (regression).
type SegmentLabels struct {
	Predictions uint64
	Labeled     uint64
	Confusion   stats.Confusion
	Sums        stats.RegressionSums
}

// newSegmentLabels allocates the per-segment, per-slot results.
func newSegmentLabels(segs []Segment) [][]SegmentLabels {
	out := make([][]SegmentLabels, len(segs))
	for j, s := range segs {
		out[j] = make([]SegmentLabels, s.Slots())
		for v := range out[j] {
			out[j][v].Confusion = stats.Confusion{}
		}
	}
	return out
}

// --- the window pass ---------------------------------------------------------

// windowSegmentKeys are the window pass's segment keys, in a range after
// every key of the layout (stateKeys.end): for segment j and slot v, the
// output column's state relative to its base (0 missing, else its bin
// state; one state when there is no output column):
//
//	base + offset(j) + v·stride + state
type windowSegmentKeys struct {
	layout stateKeys
	segs   *Segments
}

func (k windowSegmentKeys) base() uint64 { return k.layout.end() }

// stride is the number of output states per slot.
func (k windowSegmentKeys) stride() uint64 {
	if k.segs.Output < 0 {
		return 1
	}
	return k.layout.stride
}

func (k windowSegmentKeys) offset(j int) uint64 {
	var off uint64
	for _, s := range k.segs.Columns[:j] {
		off += uint64(s.Slots()) * k.stride()
	}
	return off
}

func (k windowSegmentKeys) end() uint64 {
	end := k.base() + k.offset(len(k.segs.Columns))
	if k.layout.scores {
		for _, s := range k.segs.Columns {
			end += uint64(s.Slots()) * scoreStates
		}
	}
	return end + k.featureKeys(len(k.segs.Columns)) + k.classKeys()
}

// scoreBase is the first key of segment j's score histograms (with
// Source.Scores), after every segment's output keys: one histogram of
// scoreStates keys per slot, laid out as the whole window's (scoreSQL).
func (k windowSegmentKeys) scoreBase(j int) uint64 {
	base := k.base() + k.offset(len(k.segs.Columns))
	for _, s := range k.segs.Columns[:j] {
		base += uint64(s.Slots()) * scoreStates
	}
	return base
}

// keyType is the narrowest type that holds every segment key.
func (k windowSegmentKeys) keyType() string {
	if k.end()-1 > math.MaxUint16 {
		return "toUInt32"
	}
	return k.layout.keyType()
}

// keysSQL renders one key per segment column, from the slot aliases in the
// same SELECT and the output column's state alias.
func (k windowSegmentKeys) keysSQL() []string {
	out := make([]string, len(k.segs.Columns))
	for j := range k.segs.Columns {
		c := k.base() + k.offset(j)
		state := ""
		if o := k.segs.Output; o >= 0 {
			// The state alias holds base(o) + state: subtracting as a
			// constant keeps the sum unsigned.
			c -= k.layout.base(o)
			state = fmt.Sprintf("mlmon_s%d + ", o)
		}
		out[j] = fmt.Sprintf("%s(%s%d + %s * %d)", k.keyType(), state, c, segmentSlotAlias(j), k.stride())
	}
	if k.layout.scores {
		// The row's score key (mlmon_ss, from the layout's score range)
		// moved to the slot's histogram.
		for j := range k.segs.Columns {
			out = append(out, fmt.Sprintf("%s(mlmon_ss + %d + %s * %d)", k.keyType(),
				k.scoreBase(j)-k.layout.scoreBase(), segmentSlotAlias(j), scoreStates))
		}
	}
	out = append(out, k.featureKeysSQL()...)
	return append(out, k.classKeysSQL()...)
}

// SegmentWindow is one segment value's rows in a window and, when the
// window pass had an output column, their output bins.
type SegmentWindow struct {
	Rows   uint64
	Output ColumnStats // Bins and Missing only
	// Scores is the value's score histogram by predicted class, with
	// Source.Scores.
	Scores *ScoreHistogram
	// Columns are the value's bins of every binning of the window pass
	// (Bins and Missing only), when its segment has Features; the
	// output's entry (Segments.Output) is left empty: see Output.
	Columns []ColumnStats
	// ClassScores is the value's class score histograms (Source.ClassScores
	// and Segments.ClassScores), at the whole model's indices but counted
	// to 1/SegmentScoreBuckets.
	ClassScores *ClassScoreCounts
}

// alloc sets ws.Segments to zero counts for every segment value.
func (k windowSegmentKeys) alloc(ws *WindowStats) {
	ws.Segments = make([][]SegmentWindow, len(k.segs.Columns))
	for j, s := range k.segs.Columns {
		ws.Segments[j] = make([]SegmentWindow, s.Slots())
		if o := k.segs.Output; o >= 0 {
			for v := range ws.Segments[j] {
				ws.Segments[j][v].Output.Bins = make([]uint64, binCount(k.layout.cols[o]))
			}
		}
		if s.Features {
			k.allocFeatures(ws.Segments[j])
		}
		if k.classScored() {
			k.allocClassScores(ws.Segments[j])
		}
		if k.layout.scores {
			for v := range ws.Segments[j] {
				ws.Segments[j][v].Scores = &ScoreHistogram{
					PredictedPositive: make([]uint64, ScoreBuckets+1),
					PredictedNegative: make([]uint64, ScoreBuckets+1),
				}
			}
		}
	}
}

// fold adds a key's count to ws.Segments (allocated by alloc).
func (k windowSegmentKeys) fold(ws *WindowStats, key, n uint64) error {
	if key < k.base() || key >= k.end() {
		return fmt.Errorf("segment key %d outside [%d, %d)", key, k.base(), k.end())
	}
	if k.classScored() && key >= k.classBase(0) {
		return k.foldClassScore(ws, key, n)
	}
	if key >= k.featureBase(0) {
		return k.foldFeature(ws, key, n)
	}
	if k.layout.scores && key >= k.scoreBase(0) {
		return k.foldScore(ws, key, n)
	}
	rel := key - k.base()
	j := 0
	for j+1 < len(k.segs.Columns) && rel >= k.offset(j+1) {
		j++
	}
	rel -= k.offset(j)
	slot, state := rel/k.stride(), rel%k.stride()
	sw := &ws.Segments[j][slot]
	sw.Rows += n
	if k.segs.Output < 0 {
		return nil
	}
	st, err := k.layout.decode(k.layout.base(k.segs.Output) + state)
	if err != nil {
		return err
	}
	if st.missing {
		sw.Output.Missing += n
	} else {
		sw.Output.Bins[st.bin] += n
	}
	return nil
}

// splitSegmentKeys takes the segment keys out of a window pass's groups and
// folds them; the other groups are returned for foldWindow.
func splitSegmentKeys(cols []Binning, src Source, classes int, keys, counts []uint64) (restKeys, restCounts []uint64, segs [][]SegmentWindow, err error) {
	if !src.Segments.active() {
		return keys, counts, nil, nil
	}
	// The segments' keys start after the class score histograms' (as in
	// WindowQuery's layout).
	layout := newStateKeys(cols, src.Scores)
	layout.classes = classes
	k := windowSegmentKeys{layout, src.Segments}
	var ws WindowStats
	k.alloc(&ws)
	for i, key := range keys {
		if key < k.base() {
			restKeys, restCounts = append(restKeys, key), append(restCounts, counts[i])
			continue
		}
		if err := k.fold(&ws, key, counts[i]); err != nil {
			return nil, nil, nil, err
		}
	}
	k.finishClassScores(&ws)
	return restKeys, restCounts, ws.Segments, nil
}

// foldSegmentedClassification folds the whole model's groups (key 0) as
// foldClassification does, and each segment value's into its confusion
// matrix.
func foldSegmentedClassification(m *config.Model, segs []Segment, rows []classificationRow) (Classification, error) {
	k := joinSegmentKeys{segs}
	var whole []classificationRow
	out := newSegmentLabels(segs)
	for _, r := range rows {
		j, v, isWhole, err := k.decode(r.seg)
		if err != nil {
			return Classification{}, err
		}
		if isWhole {
			whole = append(whole, r)
			continue
		}
		sl := &out[j][v]
		sl.Predictions += r.n
		if !r.matched {
			continue
		}
		sl.Labeled += r.n
		row := sl.Confusion[r.label]
		if row == nil {
			row = map[string]float64{}
			sl.Confusion[r.label] = row
		}
		row[r.pred] += float64(r.n)
	}
	res, err := foldClassification(m, whole)
	res.Segments = out
	return res, err
}

// segmentedRegression runs a RegressionQuery with segments: one row per
// key, the whole model's (key 0) and each segment value's that has rows.
func (c *Client) segmentedRegression(ctx context.Context, m *config.Model, q Query, segs []Segment) (Regression, error) {
	k := joinSegmentKeys{segs}
	out := newSegmentLabels(segs)
	var res Regression
	err := c.QueryRows(ctx, m.Name, q, func(scan func(...any) error) error {
		var r regressionRow
		if err := scan(append(r.dest(), &r.seg)...); err != nil {
			return err
		}
		j, v, whole, err := k.decode(r.seg)
		if err != nil {
			return err
		}
		reg := r.regression()
		if whole {
			res = reg
			return nil
		}
		out[j][v].Predictions, out[j][v].Labeled, out[j][v].Sums = reg.Predictions, reg.Labeled, reg.Sums
		return nil
	})
	if err != nil {
		return Regression{}, err
	}
	res.Segments = out
	return res, nil
}

// foldScore adds a segment score key's count to its slot's histogram.
func (k windowSegmentKeys) foldScore(ws *WindowStats, key, n uint64) error {
	j := 0
	for j+1 < len(k.segs.Columns) && key >= k.scoreBase(j+1) {
		j++
	}
	rel := key - k.scoreBase(j)
	slot, s := rel/scoreStates, rel%scoreStates
	if slot >= uint64(len(ws.Segments[j])) {
		return fmt.Errorf("segment score key %d beyond segment %d's slots", key, j)
	}
	st, err := k.layout.decode(k.layout.scoreBase() + s)
	if err != nil {
		return err
	}
	h := ws.Segments[j][slot].Scores
	switch {
	case st.unscored:
		h.Unscored += n
	case st.positive:
		h.PredictedPositive[st.bucket] += n
	default:
		h.PredictedNegative[st.bucket] += n
	}
	return nil
}
