package stats

import (
	"maps"
	"slices"
	"sort"
)

// LabelBins are two windows' labels binned for label drift
// (mlmon_label_psi, mlmon_label_js_divergence): one bin per class among the
// reference's k most frequent actual classes, and a last bin for every other
// class, so a model with unbounded labels still compares a bounded
// distribution.
type LabelBins struct {
	Reference, Current []float64 // rows per bin, aligned
	// Labelled rows of each window, the bins' sums: the caller compares
	// them with min_samples before reporting a drift.
	ReferenceRows, CurrentRows float64
}

// BinLabels bins the actual classes of two confusion matrices
// ([actual][predicted] counts) by the reference's top k classes, most
// frequent first, ties by class name. k ≤ 0 keeps every class in the last
// bin.
func BinLabels(ref, cur Confusion, k int) LabelBins {
	refCounts, curCounts := actualCounts(ref), actualCounts(cur)
	var b LabelBins
	for _, n := range refCounts {
		b.ReferenceRows += n
	}
	for _, n := range curCounts {
		b.CurrentRows += n
	}
	top := mostFrequent(refCounts, k)
	b.Reference, b.Current = make([]float64, len(top)+1), make([]float64, len(top)+1)
	b.Reference[len(top)], b.Current[len(top)] = b.ReferenceRows, b.CurrentRows
	for i, class := range top {
		b.Reference[i], b.Current[i] = refCounts[class], curCounts[class]
		b.Reference[len(top)] -= b.Reference[i]
		b.Current[len(top)] -= b.Current[i]
	}
	return b
}

// actualCounts sums a confusion matrix's rows: rows per actual class.
func actualCounts(c Confusion) map[string]float64 {
	out := map[string]float64{}
	for actual, row := range c {
		for _, n := range row {
			out[actual] += n
		}
	}
	return out
}

// mostFrequent returns up to k keys, most frequent first, ties by key.
func mostFrequent(counts map[string]float64, k int) []string {
	keys := slices.Sorted(maps.Keys(counts))
	sort.SliceStable(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	return keys[:min(max(k, 0), len(keys))]
}
