package chquery

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlmon/mlmon/internal/stats"
)

// keyColumns are columns of every kind stateKeys encodes: numeric with and
// without a reference range, categorical with and without the reference's
// values, and with no top category at all.
func keyColumns() []Binning {
	return []Binning{
		{Column: Column{Name: "age", Numeric: true}, Edges: []float64{18, 30.5, 45}, Min: 16, Max: 90},
		{Column: Column{Name: "plan"}, Categories: []string{"basic", "pro"}, Seen: []string{"basic", "pro", "team"}},
		{Column: Column{Name: "income", Numeric: true}, Edges: []float64{1000}, Min: math.NaN(), Max: math.NaN()},
		{Column: Column{Name: "region"}, Categories: []string{"eu"}},
		{Column: Column{Name: "empty"}, Categories: []string{}, Seen: []string{}},
		{Column: Column{Name: "flat", Numeric: true}, Min: 2, Max: 2},
	}
}

// want is what a value's key must decode to, computed from the column's
// definition (bins by stats.BinIndex, the reference range, the category
// lists) rather than from the encoder.
func wantNumeric(c Binning, i int, x float64) windowState {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return windowState{column: i, missing: true}
	}
	ranged := !math.IsNaN(c.Min) && !math.IsNaN(c.Max)
	return windowState{column: i, bin: stats.BinIndex(c.Edges, x), flagged: ranged && (x < c.Min || x > c.Max)}
}

func wantCategory(c Binning, i int, v *string) windowState {
	if v == nil {
		return windowState{column: i, missing: true}
	}
	bin := slices.Index(c.Categories, *v)
	if bin < 0 {
		bin = len(c.Categories)
	}
	return windowState{column: i, bin: bin, flagged: c.Seen != nil && !slices.Contains(c.Seen, *v)}
}

// Go encodes, stateKeys decodes: every value comes back as its column, bin
// and flag.
func TestStateKeysRoundTrip(t *testing.T) {
	cols := keyColumns()
	for _, scores := range []bool{false, true} {
		k := newStateKeys(cols, scores)
		rng := rand.New(rand.NewPCG(1, 2))
		numbers := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 16, 18, 30.5, 45, 90, 15.999, 90.001, 2, 1000, -5, 1e6}
		for range 200 {
			numbers = append(numbers, rng.Float64()*120-10)
		}
		values := []string{"basic", "pro", "team", "eu", "us", "", "BASIC"}
		for i, c := range cols {
			if c.Numeric {
				for _, x := range numbers {
					got, err := k.decode(k.numericKey(i, x))
					if want := wantNumeric(c, i, x); err != nil || got != want {
						t.Errorf("column %s, value %g: decoded %+v, %v; want %+v", c.Name, x, got, err, want)
					}
				}
				continue
			}
			for _, v := range append([]*string{nil}, ptrs(values)...) {
				got, err := k.decode(k.categoryKey(i, v))
				if want := wantCategory(c, i, v); err != nil || got != want {
					t.Errorf("column %s, value %v: decoded %+v, %v; want %+v", c.Name, v, got, err, want)
				}
			}
		}
		if got, err := k.decode(0); err != nil || !got.rows {
			t.Errorf("key 0 decoded %+v, %v; want the row count", got, err)
		}
		if !scores {
			continue
		}
		for _, tc := range []struct {
			score    float64
			positive bool
			want     windowState
		}{
			{math.NaN(), true, windowState{score: true, unscored: true}},
			{math.Inf(1), false, windowState{score: true, unscored: true}},
			{0, false, windowState{score: true, bucket: 0}},
			{0.0004, true, windowState{score: true, positive: true, bucket: 0}},
			{0.0005, true, windowState{score: true, positive: true, bucket: 1}},
			{0.25, false, windowState{score: true, bucket: 250}},
			{1, true, windowState{score: true, positive: true, bucket: ScoreBuckets}},
			{7, false, windowState{score: true, bucket: ScoreBuckets}},
			{-3, true, windowState{score: true, positive: true, bucket: 0}},
		} {
			if got, err := k.decode(k.scoreKey(tc.score, tc.positive)); err != nil || got != tc.want {
				t.Errorf("score %g, positive %v: decoded %+v, %v; want %+v", tc.score, tc.positive, got, err, tc.want)
			}
		}
	}
}

func ptrs(vs []string) []*string {
	out := make([]*string, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out
}

// Keys the layout cannot yield are errors, not a count in some bin.
func TestStateKeysRejectForeignKeys(t *testing.T) {
	cols := keyColumns()
	for _, scores := range []bool{false, true} {
		k := newStateKeys(cols, scores)
		bad := []uint64{k.end(), k.end() + 1000}
		// In the range of a column narrower than the stride: a numeric
		// state beyond bins + 1 ("flat"), a categorical bin beyond the top
		// categories ("empty").
		flat, empty := 5, 4
		if k.stride < uint64(binCount(cols[flat]))+4 || k.stride < 2*uint64(binCount(cols[empty]))+2 {
			t.Fatalf("stride %d leaves no foreign key in the narrow columns", k.stride)
		}
		bad = append(bad, k.base(flat)+1+uint64(binCount(cols[flat]))+2, k.base(empty)+1+2*uint64(binCount(cols[empty])))
		for _, key := range bad {
			if got, err := k.decode(key); err == nil {
				t.Errorf("scores %v: key %d decoded as %+v", scores, key, got)
			}
		}
	}
}

// The server encodes, stateKeys decodes: each encoder's SQL, run on
// ClickHouse over chosen values, yields the key its Go twin computes, so the
// decoding above holds for the keys the window query returns.
func TestStateKeysOnTheServer(t *testing.T) {
	ctx := context.Background()
	cols := keyColumns()
	k := newStateKeys(cols, true)
	query := func(sql string, args ...any) []uint64 {
		t.Helper()
		rows, err := server.Conn().Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
		defer rows.Close()
		var out []uint64
		for rows.Next() {
			var v uint64
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	numbers := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 16, 18, 30.5, 45, 90, 15.999, 90.001, 2, 1000, -5, 0.1 + 0.2}
	lits := make([]string, len(numbers))
	for j, x := range numbers {
		lits[j] = floatLit(x)
	}
	for i, c := range cols {
		if c.Numeric {
			got := query("SELECT toUInt64(" + k.numericSQL(i, "mlmon_x") + ") FROM (SELECT arrayJoin([" + strings.Join(lits, ", ") + "]) AS mlmon_x)")
			for j, x := range numbers {
				if want := k.numericKey(i, x); j >= len(got) || got[j] != want {
					t.Errorf("column %s, value %g: server key %v, Go key %d", c.Name, x, got, want)
				}
			}
			continue
		}
		values := []string{"basic", "pro", "team", "eu", "us", "", "it's"}
		got := query("SELECT toUInt64("+k.categorySQL(i, "mlmon_v")+") FROM (SELECT arrayJoin(arrayPushFront(CAST(?, 'Array(Nullable(String))'), NULL)) AS mlmon_v)", values)
		for j, v := range append([]*string{nil}, ptrs(values)...) {
			if want := k.categoryKey(i, v); j >= len(got) || got[j] != want {
				t.Errorf("column %s, value %v: server key %v, Go key %d", c.Name, v, got, want)
			}
		}
	}
	scores := []float64{math.NaN(), math.Inf(-1), 0, 0.0004, 0.0005, 0.25, 0.7777, 1, 7, -3}
	lits = lits[:0]
	for _, x := range scores {
		lits = append(lits, floatLit(x))
	}
	for _, positive := range []bool{false, true} {
		predicted := "'0'"
		if positive {
			predicted = "'1'"
		}
		got := query("SELECT toUInt64("+k.scoreSQL("mlmon_sc", predicted)+") FROM (SELECT arrayJoin(["+strings.Join(lits, ", ")+"]) AS mlmon_sc)", "1")
		for j, x := range scores {
			if want := k.scoreKey(x, positive); j >= len(got) || got[j] != want {
				t.Errorf("score %g, positive %v: server key %v, Go key %d", x, positive, got, want)
			}
		}
	}
}

// The server's score bucket (bucketSQL and its clampSQL: the window pass's
// score keys, the joins' buckets) is the floor of the clamped score ·
// ScoreBuckets + 0.5, written out here as greatest, least, floor and a cast,
// and scoreBucket's (the Go twin).
// Scores on and next to every half-bucket boundary, where rounding could tip
// one way or the other, get the same bucket from all three.
func TestScoreBucketOnTheServer(t *testing.T) {
	ctx := context.Background()
	var scores []float64
	for b := -2; b <= ScoreBuckets+2; b++ {
		x := (float64(b) + 0.5) / ScoreBuckets
		scores = append(scores, x, math.Nextafter(x, -1), math.Nextafter(x, 2), float64(b)/ScoreBuckets)
	}
	lits := make([]string, len(scores))
	for i, x := range scores {
		lits[i] = floatLit(x)
	}
	rows, err := server.Conn().Query(ctx, "SELECT toUInt64("+bucketSQL("x")+"), toUInt64(toInt32(floor(greatest(least(x, 1.), 0.) * "+
		strconv.Itoa(ScoreBuckets)+" + 0.5))) FROM (SELECT arrayJoin(["+strings.Join(lits, ", ")+"]) AS x)")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var got, floor uint64
		if err := rows.Scan(&got, &floor); err != nil {
			t.Fatal(err)
		}
		if want := scoreBucket(scores[i]); got != want || floor != want {
			t.Errorf("score %v: bucketSQL %d, floor form %d, scoreBucket %d", scores[i], got, floor, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(scores) {
		t.Fatalf("%d rows for %d scores", i, len(scores))
	}
}
