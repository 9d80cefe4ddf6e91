package chquery

import (
	"fmt"
	"strconv"
)

// Per-segment class score histograms (Segments.ClassScores, with
// Source.ClassScores): a multiclass model's label-free estimate per segment
// value. Each row's class scores are counted once more per segment column,
// in the row's slot, in a range of keys after the segments' feature keys:
// for segment j, slot v, the row's predicted class i and class c (as
// classScoreSQL indexes them) and b the coarse bucket of class c's score,
//
//	classBase(j) + v·S + 0                          some score not finite
//	classBase(j) + v·S + 1 + (i·K + c)·(B + 1) + b  B = SegmentScoreBuckets
//
// with S = segmentClassStates(K) keys per slot. Each row yields K more keys
// per segment column (one per class): the cost grows with segment columns
// × classes, not with their values.
//
// At the whole model's resolution (ScoreBuckets) a slot would own
// (K + 1)·K·1001 keys, 20 020 for K = 4: two segment columns of 10 values
// would push every key of the pass past 2¹⁶ and to 32 bits, which doubled
// the window pass when it happened before (see segments_features.go). So a
// segment value's scores are bucketed coarser: 1/SegmentScoreBuckets.

// SegmentScoreBuckets is the resolution of a segment value's class score
// histograms: scores rounded to 1/50. 50 is the largest divisor of
// ScoreBuckets whose keys stay 16-bit for a 4-class model with two segment
// columns of 10 values and 25 features (100 would need 22 × 2021 keys
// beside the whole model's 20 021, past 2¹⁶); a divisor, so that the fold
// puts coarse bucket b at the whole model's bucket b·(ScoreBuckets /
// SegmentScoreBuckets) and the whole model's estimate (stats.FitMulticlass,
// stats.ExpectedMulticlassConfusion) reads it unchanged. A score moves by at
// most 1/100 (and a half of 1/1000 more, see segmentBucketSQL), and the
// calibration maps it through a step function fitted at 1/1000.
const SegmentScoreBuckets = 50

// segmentBucketRatio is how many of the whole model's buckets one coarse
// bucket holds.
const segmentBucketRatio = ScoreBuckets / SegmentScoreBuckets

// segmentClassStates is how many keys one slot's class score histograms
// own: one for rows with a score that is not finite, then
// SegmentScoreBuckets + 1 per (predicted class, class) pair.
func segmentClassStates(k int) uint64 {
	return 1 + uint64(k+1)*uint64(k)*(SegmentScoreBuckets+1)
}

// segmentBucketSQL is the coarse bucket of x: its whole-model bucket
// (bucketSQL) rounded half up to a multiple of segmentBucketRatio, so that
// coarse bucket b holds exactly the whole model's buckets b·r − r/2 …
// b·r + r/2 − 1 (r the ratio), and the sum of a segment's values'
// histograms is the whole model's histogram merged.
func segmentBucketSQL(x string) string {
	return fmt.Sprintf("intDiv(%s + %d, %d)", bucketSQL(x), segmentBucketRatio/2, segmentBucketRatio)
}

// segmentBucket is segmentBucketSQL computed in Go.
func segmentBucket(score float64) uint64 {
	return (scoreBucket(score) + segmentBucketRatio/2) / segmentBucketRatio
}

// classScored is whether the window pass counts the segment values' class
// score histograms.
func (k windowSegmentKeys) classScored() bool {
	return k.layout.classes > 0 && k.segs.ClassScores
}

// classBase is the first key of segment j's class score histograms, after
// every segment's feature keys.
func (k windowSegmentKeys) classBase(j int) uint64 {
	base := k.featureBase(len(k.segs.Columns))
	s := segmentClassStates(k.layout.classes)
	for _, sg := range k.segs.Columns[:j] {
		base += uint64(sg.Slots()) * s
	}
	return base
}

// classKeys is how many class score keys the segments own.
func (k windowSegmentKeys) classKeys() uint64 {
	if !k.classScored() {
		return 0
	}
	return k.classBase(len(k.segs.Columns)) - k.classBase(0)
}

// classInnerSQL renders, once per row and class c, the row's state in a
// slot's class score histograms, mlmon_mq<c> (0 when some score is not
// finite: the flag multiplies, as in stateKeys.scoreSQL), from
// classScoreSQL's aliases: every segment column moves it to its slot
// (classKeysSQL).
func (k windowSegmentKeys) classInnerSQL() []string {
	if !k.classScored() {
		return nil
	}
	var out []string
	for c := range k.layout.classes {
		out = append(out, fmt.Sprintf("%s(mlmon_mf * (1 + (mlmon_mi * %d + %d) * %d + %s)) AS mlmon_mq%d",
			k.keyType(), k.layout.classes, c, SegmentScoreBuckets+1, segmentBucketSQL("mlmon_mc"+strconv.Itoa(c)), c))
	}
	return out
}

// classKeysSQL renders, per segment column and class, the key of the row's
// class score state in its slot's histograms.
func (k windowSegmentKeys) classKeysSQL() []string {
	if !k.classScored() {
		return nil
	}
	var out []string
	s := segmentClassStates(k.layout.classes)
	for j := range k.segs.Columns {
		for c := range k.layout.classes {
			out = append(out, fmt.Sprintf("%s(mlmon_mq%d + %d + %s * %d)", k.keyType(), c, k.classBase(j), segmentSlotAlias(j), s))
		}
	}
	return out
}

// classKey is classKeysSQL computed in Go: the key of class c's score in
// slot v of segment j, for a row predicted i whose scores are all finite
// (or not).
func (k windowSegmentKeys) classKey(j, v, predicted, class int, score float64, finite bool) uint64 {
	key := k.classBase(j) + uint64(v)*segmentClassStates(k.layout.classes)
	if !finite {
		return key
	}
	return key + 1 + uint64(predicted*k.layout.classes+class)*(SegmentScoreBuckets+1) + segmentBucket(score)
}

// allocClassScores sets empty class score histograms for every slot of a
// segment.
func (k windowSegmentKeys) allocClassScores(slots []SegmentWindow) {
	for v := range slots {
		slots[v].ClassScores = newClassScoreCounts(k.layout.classes)
	}
}

// foldClassScore adds a segment class score key's count to its slot's
// histograms, coarse bucket b at the whole model's bucket b·ratio.
func (k windowSegmentKeys) foldClassScore(ws *WindowStats, key, n uint64) error {
	j := 0
	for j+1 < len(k.segs.Columns) && key >= k.classBase(j+1) {
		j++
	}
	s := segmentClassStates(k.layout.classes)
	rel := key - k.classBase(j)
	slot, state := rel/s, rel%s
	if slot >= uint64(len(ws.Segments[j])) {
		return fmt.Errorf("segment class score key %d beyond segment %d's slots", key, j)
	}
	h := ws.Segments[j][slot].ClassScores
	if state == 0 {
		h.Unscored += n // K keys per row: see finishClassScores
		return nil
	}
	cell, b := (state-1)/(SegmentScoreBuckets+1), (state-1)%(SegmentScoreBuckets+1)
	i, c := int(cell)/k.layout.classes, int(cell)%k.layout.classes
	h.Rows[i][c][b*segmentBucketRatio] += n
	return nil
}

// finishClassScores turns each slot's unscored count into rows.
func (k windowSegmentKeys) finishClassScores(ws *WindowStats) {
	if !k.classScored() {
		return
	}
	for j := range ws.Segments {
		for v := range ws.Segments[j] {
			ws.Segments[j][v].ClassScores.finish()
		}
	}
}
