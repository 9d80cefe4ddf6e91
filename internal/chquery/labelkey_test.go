package chquery

import (
	"context"
	"math"
	"testing"
)

// Go packs, Go unpacks: the time and the label's hash come back, and the
// packing orders by time first, by hash among labels of one second.
func TestLabelTieBreakRoundTrip(t *testing.T) {
	labels := []string{"", "0", "1", "churn", "не", "a much longer label than any class name"}
	times := []uint64{0, 1, 1_767_222_000, math.MaxUint32}
	for _, unix := range times {
		for _, l := range labels {
			tb := newLabelTieBreak(unix, l)
			if tb.unix() != unix || tb.hash() != LabelHash(l) {
				t.Errorf("(%d, %q): unpacked (%d, %d), want (%d, %d)", unix, l, tb.unix(), tb.hash(), unix, LabelHash(l))
			}
			if LabelHash(l) >= labelHashSpan {
				t.Errorf("LabelHash(%q) = %d: wider than 32 bits", l, LabelHash(l))
			}
			later := newLabelTieBreak(unix+1, labels[0])
			if unix < math.MaxUint32 && later <= tb {
				t.Errorf("a label a second later (%d) does not win over (%d, %q) (%d)", later, unix, l, tb)
			}
		}
	}
}

// The server packs and unpacks, Go reads: the SQL's tie-break equals its Go
// twin, and the SQL's unpacking agrees with Go's.
func TestLabelTieBreakOnTheServer(t *testing.T) {
	ctx := context.Background()
	const unix = 1_767_222_000
	labels := []string{"", "0", "1", "churn", "не", "it's"}
	sql := "SELECT mlmon_l, " + labelTieBreakSQL("mlmon_ts", "mlmon_l") + " AS mlmon_tb, " +
		tieBreakHashSQL("mlmon_tb") + ", " + tieBreakTimeSQL("mlmon_tb") + ", toUInt8(" + tieBreakMatchedSQL("mlmon_tb") + ")" +
		" FROM (SELECT toDateTime(?) AS mlmon_ts, arrayJoin(CAST(?, 'Array(String)')) AS mlmon_l)"
	rows, err := server.Conn().Query(ctx, sql, unix, labels)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			label          string
			tb, hash, secs uint64
			matched        uint8
		)
		if err := rows.Scan(&label, &tb, &hash, &secs, &matched); err != nil {
			t.Fatal(err)
		}
		n++
		want := newLabelTieBreak(unix, label)
		if labelTieBreak(tb) != want {
			t.Errorf("%q: server packed %d, Go %d", label, tb, want)
		}
		if got := labelTieBreak(tb); got.hash() != LabelHash(label) || got.unix() != unix {
			t.Errorf("%q: Go unpacked (%d, %d), want (%d, %d)", label, got.unix(), got.hash(), uint64(unix), LabelHash(label))
		}
		if hash != LabelHash(label) || secs != unix || matched != 1 {
			t.Errorf("%q: server unpacked (%d, %d, matched %d), want (%d, %d, 1)", label, secs, hash, matched, uint64(unix), LabelHash(label))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(labels) {
		t.Errorf("%d rows, want %d", n, len(labels))
	}
}
