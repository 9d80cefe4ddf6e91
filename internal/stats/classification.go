package stats

import (
	"cmp"
	"maps"
	"math"
	"slices"
)

// Confusion holds row counts: Confusion[actual][predicted].
//
// Counts are float64 because they arrive from ClickHouse as (possibly
// weighted) sums; they must be finite and non-negative. Missing entries are
// zero.
type Confusion map[string]map[string]float64

// ClassScores are the one-vs-rest scores of a single class, defined as in
// scikit-learn's precision_recall_fscore_support(average=None,
// zero_division=np.nan).
type ClassScores struct {
	// Precision is TP/(TP+FP); NaN when nothing was predicted as the class.
	Precision float64
	// Recall is TP/(TP+FN); NaN when the class never occurs as actual.
	Recall float64
	// F1 is 2TP/(2TP+FP+FN) (scikit-learn ≥ 1.3). It is NaN only when the
	// denominator is 0, so it is 0, not NaN, for a class that has support
	// but was never predicted.
	F1 float64
	// Support is the number of rows whose actual label is the class.
	Support float64
	// Predicted is the number of rows predicted as the class.
	Predicted float64
}

// Average is an averaged precision, recall and F1 over classes.
type Average struct {
	Precision, Recall, F1 float64
}

// ClassificationReport is the result of Classify.
type ClassificationReport struct {
	// Total is the sum of all counts.
	Total float64
	// Accuracy is trace/Total; NaN when Total is 0.
	Accuracy float64
	// Classes has one entry per label in the union of actual and predicted
	// labels with a positive count (scikit-learn's unique_labels). It is
	// never nil.
	Classes map[string]ClassScores
	// Macro is the unweighted mean of the per-class values that are not NaN
	// (NaN when all are NaN), as scikit-learn does with zero_division=np.nan.
	Macro Average
	// Weighted is the mean of the per-class values that are not NaN,
	// weighted by Support. It is NaN when those classes have a total
	// Support of 0. (scikit-learn falls back to the unweighted mean in that
	// corner case, which only arises for precision when every predicted
	// class is absent from the actuals; we report it as undefined.)
	Weighted Average
	// Micro pools the counts of all classes: ΣTP/ΣPredicted, ΣTP/ΣSupport
	// and 2ΣTP/(ΣPredicted+ΣSupport). Over all labels each of these equals
	// Accuracy; they are computed from their definitions all the same.
	Micro Average
}

// tally holds the per-label marginals of a confusion matrix.
type tally struct {
	support, predicted, tp map[string]float64
	total, trace           float64
}

// tallyOf sums the matrix in sorted key order so the result does not depend
// on map iteration order when counts are not integers.
func tallyOf(c Confusion) tally {
	t := tally{
		support:   map[string]float64{},
		predicted: map[string]float64{},
		tp:        map[string]float64{},
	}
	for _, actual := range slices.Sorted(maps.Keys(c)) {
		row := c[actual]
		for _, pred := range slices.Sorted(maps.Keys(row)) {
			n := row[pred]
			t.support[actual] += n
			t.predicted[pred] += n
			t.total += n
			if actual == pred {
				t.tp[actual] += n
				t.trace += n
			}
		}
	}
	return t
}

// labels returns, sorted ascending, the labels with positive Support or
// positive Predicted count.
func (t tally) labels() []string {
	var out []string
	for l := range t.support {
		if t.support[l] > 0 || t.predicted[l] > 0 {
			out = append(out, l)
		}
	}
	for l, n := range t.predicted {
		if _, counted := t.support[l]; !counted && n > 0 {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// Labels returns the sorted union of actual and predicted labels that have a
// positive count, mirroring scikit-learn's unique_labels: a label present in
// the map only with zero counts was never observed and is not a class.
func (c Confusion) Labels() []string {
	return tallyOf(c).labels()
}

// Classify computes per-class and averaged precision, recall and F1 plus
// accuracy from a confusion matrix, with scikit-learn's definitions and
// zero_division=np.nan (see ClassScores and ClassificationReport).
// An empty matrix yields Total 0, an empty Classes map and NaN everywhere
// else.
func Classify(c Confusion) ClassificationReport {
	t := tallyOf(c)
	labels := t.labels()
	r := ClassificationReport{
		Total:    t.total,
		Accuracy: ratio(t.trace, t.total),
		Classes:  make(map[string]ClassScores, len(labels)),
	}

	var sumTP, sumPred, sumSupport float64
	for _, l := range labels {
		tp, pred, sup := t.tp[l], t.predicted[l], t.support[l]
		r.Classes[l] = ClassScores{
			Precision: ratio(tp, pred),
			Recall:    ratio(tp, sup),
			// 2TP+FP+FN = 2TP+(pred−TP)+(sup−TP) = pred+sup.
			F1:        ratio(2*tp, pred+sup),
			Support:   sup,
			Predicted: pred,
		}
		sumTP += tp
		sumPred += pred
		sumSupport += sup
	}

	r.Macro = Average{
		Precision: nanAverage(labels, r.Classes, ClassScores.precision, nil),
		Recall:    nanAverage(labels, r.Classes, ClassScores.recall, nil),
		F1:        nanAverage(labels, r.Classes, ClassScores.f1, nil),
	}
	r.Weighted = Average{
		Precision: nanAverage(labels, r.Classes, ClassScores.precision, ClassScores.support),
		Recall:    nanAverage(labels, r.Classes, ClassScores.recall, ClassScores.support),
		F1:        nanAverage(labels, r.Classes, ClassScores.f1, ClassScores.support),
	}
	r.Micro = Average{
		Precision: ratio(sumTP, sumPred),
		Recall:    ratio(sumTP, sumSupport),
		F1:        ratio(2*sumTP, sumPred+sumSupport),
	}
	return r
}

func (s ClassScores) precision() float64 { return s.Precision }
func (s ClassScores) recall() float64    { return s.Recall }
func (s ClassScores) f1() float64        { return s.F1 }
func (s ClassScores) support() float64   { return s.Support }

// nanAverage averages value over the classes whose value is not NaN,
// weighting by weight (or equally when weight is nil). It returns NaN when no
// class qualifies or the qualifying weights sum to 0.
func nanAverage(labels []string, classes map[string]ClassScores, value, weight func(ClassScores) float64) float64 {
	var sum, wsum float64
	for _, l := range labels {
		s := classes[l]
		v := value(s)
		if math.IsNaN(v) {
			continue
		}
		w := 1.0
		if weight != nil {
			w = weight(s)
		}
		sum += w * v
		wsum += w
	}
	return ratio(sum, wsum)
}

// TopClasses returns at most k labels, those with the largest Support +
// Predicted count, ordered by that count descending with ties broken by label
// ascending. It returns nil when k ≤ 0. Use it with Capped to bound the
// number of exported time series.
func TopClasses(c Confusion, k int) (kept []string) {
	if k <= 0 {
		return nil
	}
	t := tallyOf(c)
	labels := t.labels()
	weight := func(l string) float64 { return t.support[l] + t.predicted[l] }
	slices.SortFunc(labels, func(a, b string) int {
		if d := cmp.Compare(weight(b), weight(a)); d != 0 {
			return d
		}
		return cmp.Compare(a, b)
	})
	if len(labels) > k {
		labels = labels[:k]
	}
	return labels
}

// Capped returns a new matrix in which every label (actual or predicted) not
// in keep is renamed to other, summing the counts that collide. The receiver
// is not modified. If other is itself a label in keep or in the matrix, its
// counts are merged with the folded ones. Metrics should be computed on the
// uncapped matrix; Capped only bounds the label cardinality of what is
// exported.
func (c Confusion) Capped(keep []string, other string) Confusion {
	kept := make(map[string]bool, len(keep))
	for _, l := range keep {
		kept[l] = true
	}
	fold := func(l string) string {
		if kept[l] {
			return l
		}
		return other
	}
	out := Confusion{}
	for _, actual := range slices.Sorted(maps.Keys(c)) {
		row := c[actual]
		fa := fold(actual)
		for _, pred := range slices.Sorted(maps.Keys(row)) {
			if out[fa] == nil {
				out[fa] = map[string]float64{}
			}
			out[fa][fold(pred)] += row[pred]
		}
	}
	return out
}
