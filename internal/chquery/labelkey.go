package chquery

import (
	"strconv"

	"github.com/go-faster/city"
)

// labelTieBreak packs what the performance queries keep of an id's label
// into one UInt64: the second the label arrived (high bits) and labelHash
// of the label (low 32 bits). Ordered, it picks an id's newest label, and
// for labels logged in the same second the one with the larger hash, so the
// result does not depend on storage order; one UInt64 because argMax over a
// tuple is 2.4 times slower on 18.16. ClassificationQuery goes further and
// lets the label itself travel as its hash inside the max() of this value,
// decoded in the same query (tieBreakHashSQL, tieBreakTimeSQL) and named
// afterwards by LabelNamesQuery, whose names Go hashes again (LabelHash).
//
// This file holds every direction: the SQL that packs (labelTieBreakSQL,
// labelHashSQL), the SQL that unpacks (tieBreakHashSQL, tieBreakTimeSQL,
// tieBreakMatchedSQL) and their Go twins (newLabelTieBreak, hash, unix,
// LabelHash).
type labelTieBreak uint64

// labelHashSpan is 2³²: the label hash's range, and the weight of a second.
const labelHashSpan = 1 << 32

var labelHashSpanSQL = strconv.FormatUint(labelHashSpan, 10)

// labelTieBreakSQL packs a label's tie-break from its arrival time ts (a
// DateTime column) and labelExpr, the label as the query reads it.
func labelTieBreakSQL(ts, labelExpr string) string {
	return "toUInt64(" + ts + ") * " + labelHashSpanSQL + " + " + labelHashSQL(labelExpr)
}

// labelHashSQL is the low 32 bits of a label's cityHash64, by which
// ClassificationQuery's labels travel. For regression the label is a
// Float64 whose hash only breaks ties and is never decoded.
func labelHashSQL(labelExpr string) string {
	return "cityHash64(" + labelExpr + ") % " + labelHashSpanSQL
}

// tieBreakHashSQL unpacks the label hash from a tie-break.
func tieBreakHashSQL(tb string) string { return tb + " % " + labelHashSpanSQL }

// tieBreakTimeSQL unpacks the arrival time (Unix seconds) from a tie-break.
func tieBreakTimeSQL(tb string) string { return "intDiv(" + tb + ", " + labelHashSpanSQL + ")" }

// tieBreakMatchedSQL is true for a labelled row. A label's tie-break is at
// least the window's start · 2³², so a zero one (the join's default for a
// prediction without a label) is no label.
func tieBreakMatchedSQL(tb string) string { return tb + " > 0" }

// LabelHash is labelHashSQL computed by the exporter, for a label as
// ClassificationQuery reads it (a string).
func LabelHash(label string) uint64 { return city.CH64([]byte(label)) % labelHashSpan }

// newLabelTieBreak is labelTieBreakSQL computed in Go, for a string label
// that arrived at unix seconds.
func newLabelTieBreak(unix uint64, label string) labelTieBreak {
	return labelTieBreak(unix*labelHashSpan + LabelHash(label))
}

// hash is tieBreakHashSQL in Go.
func (tb labelTieBreak) hash() uint64 { return uint64(tb) % labelHashSpan }

// unix is tieBreakTimeSQL in Go.
func (tb labelTieBreak) unix() uint64 { return uint64(tb) / labelHashSpan }
