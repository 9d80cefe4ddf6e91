package stats

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		c        Confusion
		total    float64
		accuracy float64
		classes  map[string]ClassScores
		macro    Average
		weighted Average
		micro    Average
	}{
		{
			name:     "nil",
			c:        nil,
			accuracy: nan,
			classes:  map[string]ClassScores{},
			macro:    Average{nan, nan, nan},
			weighted: Average{nan, nan, nan},
			micro:    Average{nan, nan, nan},
		},
		{
			// A label present only with zero counts was never observed.
			name:     "only zero counts",
			c:        Confusion{"a": {"a": 0, "b": 0}, "c": {}},
			accuracy: nan,
			classes:  map[string]ClassScores{},
			macro:    Average{nan, nan, nan},
			weighted: Average{nan, nan, nan},
			micro:    Average{nan, nan, nan},
		},
		{
			// Every value is 5/5 = 1.
			name:     "single class",
			c:        Confusion{"a": {"a": 5}},
			total:    5,
			accuracy: 1,
			classes: map[string]ClassScores{
				"a": {Precision: 1, Recall: 1, F1: 1, Support: 5, Predicted: 5},
			},
			macro:    Average{1, 1, 1},
			weighted: Average{1, 1, 1},
			micro:    Average{1, 1, 1},
		},
		{
			// All values from scikit-learn 1.2.1 on the expanded rows
			// (no class has an undefined value, so zero_division does not
			// matter):
			// accuracy_score(y, p)
			// precision_recall_fscore_support(y, p, labels=["cat","dog","fox"])
			// precision_recall_fscore_support(y, p, average="macro"|"weighted"|"micro")
			name: "multiclass, all defined",
			c: Confusion{
				"cat": {"cat": 5, "dog": 2, "fox": 1},
				"dog": {"cat": 1, "dog": 6, "fox": 1},
				"fox": {"cat": 0, "dog": 2, "fox": 4},
			},
			total:    22,
			accuracy: 0.6818181818181818,
			classes: map[string]ClassScores{
				"cat": {Precision: 0.8333333333333334, Recall: 0.625, F1: 0.7142857142857143, Support: 8, Predicted: 6},
				"dog": {Precision: 0.6, Recall: 0.75, F1: 0.6666666666666665, Support: 8, Predicted: 10},
				"fox": {Precision: 0.6666666666666666, Recall: 0.6666666666666666, F1: 0.6666666666666666, Support: 6, Predicted: 6},
			},
			macro:    Average{0.7000000000000001, 0.6805555555555555, 0.6825396825396824},
			weighted: Average{0.703030303030303, 0.6818181818181818, 0.683982683982684},
			micro:    Average{0.6818181818181818, 0.6818181818181818, 0.6818181818181818},
		},
		{
			// Predicted a=4, b=2, c=1; support a=4, b=3, c=0; TP a=3, b=2.
			// a: P=3/4, R=3/4, F1=2·3/(4+4)=0.75
			// b: P=2/2=1, R=2/3, F1=2·2/(2+3)=0.8
			// c: P=0/1=0, R=0/0=NaN, F1=0/(1+0)=0
			// macro: P=(0.75+1+0)/3=7/12, R=(0.75+2/3)/2=17/24 (c skipped),
			//        F1=(0.75+0.8+0)/3=1.55/3
			// weighted: P=(4·0.75+3·1+0·0)/7=6/7, R=(4·0.75+3·2/3)/7=5/7,
			//           F1=(4·0.75+3·0.8+0·0)/7=5.4/7
			// micro = accuracy = (3+2)/7.
			// Cross-check of the precisions (all defined): sklearn 1.2.1
			// precision_recall_fscore_support(y, p, average=None|"macro"|"weighted")[0]
			// gives [0.75, 1, 0], 0.5833333333333334, 0.8571428571428571.
			name: "class only in predictions",
			c: Confusion{
				"a": {"a": 3, "c": 1},
				"b": {"b": 2, "a": 1},
			},
			total:    7,
			accuracy: 5.0 / 7,
			classes: map[string]ClassScores{
				"a": {Precision: 0.75, Recall: 0.75, F1: 0.75, Support: 4, Predicted: 4},
				"b": {Precision: 1, Recall: 2.0 / 3, F1: 0.8, Support: 3, Predicted: 2},
				"c": {Precision: 0, Recall: nan, F1: 0, Support: 0, Predicted: 1},
			},
			macro:    Average{7.0 / 12, 17.0 / 24, 1.55 / 3},
			weighted: Average{6.0 / 7, 5.0 / 7, 5.4 / 7},
			micro:    Average{5.0 / 7, 5.0 / 7, 5.0 / 7},
		},
		{
			// Support a=3, b=3, c=2; predicted a=3, b=5, c=0; TP a=2, b=3.
			// a: P=2/3, R=2/3, F1=2·2/(3+3)=2/3
			// b: P=3/5, R=3/3=1, F1=2·3/(5+3)=0.75
			// c: P=0/0=NaN, R=0/2=0, F1=0/(0+2)=0 (not NaN: c has support)
			// macro: P=(2/3+0.6)/2=19/30 (c skipped), R=(2/3+1+0)/3=5/9,
			//        F1=(2/3+0.75+0)/3=17/36
			// weighted: P=(3·2/3+3·0.6)/(3+3)=3.8/6 (c and its weight skipped),
			//           R=(3·2/3+3·1+2·0)/8=5/8, F1=(3·2/3+3·0.75+2·0)/8=4.25/8
			// micro = accuracy = 5/8.
			// Cross-check of the recalls (all defined): sklearn 1.2.1
			// precision_recall_fscore_support(y, p, average=None|"macro"|"weighted")[1]
			// gives [2/3, 1, 0], 0.5555555555555555, 0.625.
			name: "class only in actuals",
			c: Confusion{
				"a": {"a": 2, "b": 1},
				"b": {"b": 3},
				"c": {"a": 1, "b": 1},
			},
			total:    8,
			accuracy: 0.625,
			classes: map[string]ClassScores{
				"a": {Precision: 2.0 / 3, Recall: 2.0 / 3, F1: 2.0 / 3, Support: 3, Predicted: 3},
				"b": {Precision: 0.6, Recall: 1, F1: 0.75, Support: 3, Predicted: 5},
				"c": {Precision: nan, Recall: 0, F1: 0, Support: 2, Predicted: 0},
			},
			macro:    Average{19.0 / 30, 5.0 / 9, 17.0 / 36},
			weighted: Average{3.8 / 6, 0.625, 4.25 / 8},
			micro:    Average{0.625, 0.625, 0.625},
		},
		{
			// Every row is actual a predicted b.
			// a: P=0/0=NaN, R=0/4=0, F1=0/(0+4)=0
			// b: P=0/4=0, R=0/0=NaN, F1=0/(4+0)=0
			// macro: P=0 (b only), R=0 (a only), F1=(0+0)/2=0
			// weighted: P: only b is defined and its support is 0, so the
			// total weight is 0 → NaN (scikit-learn would fall back to the
			// unweighted mean, 0); R=4·0/4=0; F1=(4·0+0·0)/4=0
			// micro: 0/4 = 0.
			name:     "disjoint labels",
			c:        Confusion{"a": {"b": 4}},
			total:    4,
			accuracy: 0,
			classes: map[string]ClassScores{
				"a": {Precision: nan, Recall: 0, F1: 0, Support: 4, Predicted: 0},
				"b": {Precision: 0, Recall: nan, F1: 0, Support: 0, Predicted: 4},
			},
			macro:    Average{0, 0, 0},
			weighted: Average{nan, 0, 0},
			micro:    Average{0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Classify(tt.c)
			checkFloat(t, "Total", r.Total, tt.total)
			checkFloat(t, "Accuracy", r.Accuracy, tt.accuracy)
			if r.Classes == nil {
				t.Fatal("Classes is nil")
			}
			if got, want := slices.Sorted(maps.Keys(r.Classes)), slices.Sorted(maps.Keys(tt.classes)); !slices.Equal(got, want) {
				t.Fatalf("class labels = %v, want %v", got, want)
			}
			for l, want := range tt.classes {
				got := r.Classes[l]
				checkFloat(t, l+".Precision", got.Precision, want.Precision)
				checkFloat(t, l+".Recall", got.Recall, want.Recall)
				checkFloat(t, l+".F1", got.F1, want.F1)
				checkFloat(t, l+".Support", got.Support, want.Support)
				checkFloat(t, l+".Predicted", got.Predicted, want.Predicted)
			}
			checkAverage(t, "Macro", r.Macro, tt.macro)
			checkAverage(t, "Weighted", r.Weighted, tt.weighted)
			checkAverage(t, "Micro", r.Micro, tt.micro)
		})
	}
}

func checkAverage(t *testing.T, name string, got, want Average) {
	t.Helper()
	checkFloat(t, name+".Precision", got.Precision, want.Precision)
	checkFloat(t, name+".Recall", got.Recall, want.Recall)
	checkFloat(t, name+".F1", got.F1, want.F1)
}

func TestConfusionLabels(t *testing.T) {
	tests := []struct {
		name string
		c    Confusion
		want []string
	}{
		{"nil", nil, nil},
		{"union sorted", Confusion{"b": {"c": 1}, "a": {"a": 2}}, []string{"a", "b", "c"}},
		{"zero counts dropped", Confusion{"a": {"a": 1, "z": 0}, "y": {"a": 0}}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Labels(); !slices.Equal(got, tt.want) {
				t.Errorf("Labels() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTopClasses(t *testing.T) {
	// Support+Predicted: a = 1+3 = 4, b = 3+3 = 6, c = 1+1 = 2, d = 2+0 = 2.
	// Ranking: b, a, then the c/d tie broken by label: c, d.
	c := Confusion{
		"a": {"a": 1},
		"b": {"b": 3},
		"c": {"c": 1},
		"d": {"a": 2},
	}
	tests := []struct {
		name string
		c    Confusion
		k    int
		want []string
	}{
		{"k=0", c, 0, nil},
		{"negative k", c, -1, nil},
		{"k=1", c, 1, []string{"b"}},
		{"tie broken by label", c, 3, []string{"b", "a", "c"}},
		{"k larger than labels", c, 10, []string{"b", "a", "c", "d"}},
		{"empty", Confusion{}, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TopClasses(tt.c, tt.k); !slices.Equal(got, tt.want) {
				t.Errorf("TopClasses(k=%d) = %v, want %v", tt.k, got, tt.want)
			}
		})
	}
}

func TestCapped(t *testing.T) {
	c := Confusion{
		"a": {"a": 5, "b": 1, "c": 2},
		"b": {"b": 4, "d": 1},
		"c": {"a": 1},
		"d": {"d": 3, "c": 1},
	}
	orig := Confusion{}
	for k, row := range c {
		orig[k] = maps.Clone(row)
	}
	tests := []struct {
		name  string
		keep  []string
		other string
		want  Confusion
	}{
		{
			// c, d → o: a row: c:2 → o:2; b row: d:1 → o:1;
			// o row: c's {a:1} plus d's {d:3, c:1} → {a:1, o:3+1}.
			name:  "fold two labels",
			keep:  []string{"a", "b"},
			other: "o",
			want: Confusion{
				"a": {"a": 5, "b": 1, "o": 2},
				"b": {"b": 4, "o": 1},
				"o": {"a": 1, "o": 4},
			},
		},
		{
			name:  "keep all",
			keep:  []string{"a", "b", "c", "d"},
			other: "o",
			want:  orig,
		},
		{
			// Everything folds into one cell: 5+1+2+4+1+1+3+1 = 18.
			name:  "keep none",
			keep:  nil,
			other: "o",
			want:  Confusion{"o": {"o": 18}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Capped(tt.keep, tt.other)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Capped = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(c, orig) {
				t.Errorf("Capped modified its receiver: %v", c)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		if got := Confusion(nil).Capped([]string{"a"}, "o"); len(got) != 0 {
			t.Errorf("Capped of nil = %v, want empty", got)
		}
	})
}
