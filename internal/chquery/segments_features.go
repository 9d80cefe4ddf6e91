package chquery

import (
	"fmt"
	"sort"
)

// Per-segment feature drift (Segment.Features): the window pass counts
// every feature's state per segment value, in a range of keys after the
// segments' score histograms. For segment j with Features, slot v and the
// f-th feature (every binning but Segments.Output, in order), whose state
// relative to its column's base is s (0 missing, else its bin state, as
// stateKeys lays it out):
//
//	featureBase(j) + v·W + featureOffset(f) + s
//
// where each feature owns only as many states as it has (its width, not
// the layout's stride, which is the widest column's) and W is the sum of
// the widths. Packing them keeps the keys of a typical model under 2¹⁶:
// past it every key of the pass is 32 bits wide, which more than doubled
// the window pass (1M rows, 25 features, two segment columns of 10 values
// with feature drift, 18.16: 1.48 s to 3.49 s of server CPU with the
// stride, against +10 % for one such column). Each row yields F more keys
// (F features) per such segment column: the cost grows with segment
// columns × features, not with their values.

// features are the indices, among the layout's binnings, of the columns
// counted per segment value: every one but the output.
func (k windowSegmentKeys) features() []int {
	var out []int
	for i := range k.layout.cols {
		if i != k.segs.Output {
			out = append(out, i)
		}
	}
	return out
}

// featureOffsets are the first state of each feature within a slot, and
// last the number of keys one slot owns: each feature owns its column's
// states (stateWidth).
func (k windowSegmentKeys) featureOffsets() []uint64 {
	feats := k.features()
	offs := make([]uint64, len(feats)+1)
	for f, i := range feats {
		offs[f+1] = offs[f] + stateWidth(k.layout.cols[i])
	}
	return offs
}

// featureOffset is the first state of the f-th feature within a slot.
func (k windowSegmentKeys) featureOffset(f int) uint64 { return k.featureOffsets()[f] }

// featureSlotKeys is the number of keys one slot of a segment with
// Features owns.
func (k windowSegmentKeys) featureSlotKeys() uint64 {
	offs := k.featureOffsets()
	return offs[len(offs)-1]
}

// featureKeys is the number of feature keys of the segments before j.
func (k windowSegmentKeys) featureKeys(j int) uint64 {
	var n uint64
	for _, s := range k.segs.Columns[:j] {
		if s.Features {
			n += uint64(s.Slots()) * k.featureSlotKeys()
		}
	}
	return n
}

// featureBase is the first feature key of segment j: after every segment's
// output keys and score histograms.
func (k windowSegmentKeys) featureBase(j int) uint64 {
	start := k.base() + k.offset(len(k.segs.Columns))
	if k.layout.scores {
		start = k.scoreBase(len(k.segs.Columns))
	}
	return start + k.featureKeys(j)
}

// featureKeysSQL renders, for each segment with Features, one key per
// feature from the feature's state alias (mlmon_s<i>, which holds
// base(i) + state: subtracting base(i) as part of a constant keeps the sum
// unsigned) and the segment's slot alias.
func (k windowSegmentKeys) featureKeysSQL() []string {
	var out []string
	feats, offs := k.features(), k.featureOffsets()
	slotKeys := offs[len(feats)]
	for j, s := range k.segs.Columns {
		if !s.Features {
			continue
		}
		for f, i := range feats {
			c := k.featureBase(j) + offs[f] - k.layout.base(i)
			out = append(out, fmt.Sprintf("%s(mlmon_s%d + %d + %s * %d)", k.keyType(), i, c, segmentSlotAlias(j), slotKeys))
		}
	}
	return out
}

// allocFeatures sets zero bins of every feature for each slot of a segment.
func (k windowSegmentKeys) allocFeatures(slots []SegmentWindow) {
	for v := range slots {
		slots[v].Columns = make([]ColumnStats, len(k.layout.cols))
		for _, i := range k.features() {
			slots[v].Columns[i].Bins = make([]uint64, binCount(k.layout.cols[i]))
		}
	}
}

// foldFeature adds a feature key's count to its slot's column bins.
func (k windowSegmentKeys) foldFeature(ws *WindowStats, key, n uint64) error {
	j := -1
	for jj, s := range k.segs.Columns {
		if s.Features && key >= k.featureBase(jj) {
			j = jj
		}
	}
	if j < 0 {
		return fmt.Errorf("segment feature key %d before the first segment with features", key)
	}
	feats, offs := k.features(), k.featureOffsets()
	slotKeys := offs[len(feats)]
	rel := key - k.featureBase(j)
	slot, rest := rel/slotKeys, rel%slotKeys
	if slot >= uint64(len(ws.Segments[j])) {
		return fmt.Errorf("segment feature key %d beyond segment %d's slots", key, j)
	}
	// The feature whose states hold rest: the last offset at or below it.
	f := sort.Search(len(feats), func(f int) bool { return offs[f+1] > rest })
	i, state := feats[f], rest-offs[f]
	if state >= stateWidth(k.layout.cols[i]) {
		return fmt.Errorf("segment feature key %d beyond column %s's states", key, k.layout.cols[i].Name)
	}
	st, err := k.layout.decode(k.layout.base(i) + state)
	if err != nil {
		return err
	}
	cs := &ws.Segments[j][slot].Columns[i]
	if st.missing {
		cs.Missing += n
	} else {
		cs.Bins[st.bin] += n
	}
	return nil
}
