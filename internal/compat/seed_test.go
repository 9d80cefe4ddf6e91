//go:build chdb

package compat

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chtest"
)

// scrapeNow is the scrape time every window derives from.
var scrapeNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// The fixed reference of churn and ghost.
var refFrom, refTo = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 6, 0, 0, 0, time.UTC)

// intentName exercises the binder: a model name is a bound string, and this
// one needs both of ClickHouse's escapes.
const intentName = `intent's \ model`

// table is one seeded table: the same DDL and rows go to both engines.
type table struct {
	name  string
	ddl   string
	cols  []string
	types []string // ClickHouse types, aligned with cols
	rows  [][]any  // Go values: nil for NULL, time.Time for DateTime
}

// One DDL for both engines: 18.16's MergeTree syntax with ORDER BY (and
// SAMPLE BY) is current syntax too.
func tables() []*table {
	mk := func(name, engine string, cols ...string) *table {
		t := &table{name: name}
		var defs []string
		for _, c := range cols {
			n, typ, _ := strings.Cut(c, " ")
			t.cols, t.types = append(t.cols, n), append(t.types, typ)
			defs = append(defs, n+" "+typ)
		}
		t.ddl = fmt.Sprintf("CREATE TABLE %s (%s) ENGINE = %s", name, strings.Join(defs, ", "), engine)
		return t
	}
	return []*table{
		mk("preds", "MergeTree ORDER BY (model, ts)",
			"ts DateTime", "request_id String", "model String", "model_version Nullable(String)", "prediction String",
			"score Nullable(Float64)", "latency_ms Nullable(Float64)", "is_error Nullable(UInt8)",
			"age UInt8", "income Nullable(Float64)", "visits Nullable(Int64)",
			"plan String", "region Nullable(String)", "promo Nullable(String)"),
		mk("labels", "MergeTree ORDER BY request_id", "request_id String", "label String", "ts DateTime"),
		mk("reg_preds", "MergeTree ORDER BY (ts, cityHash64(request_id)) SAMPLE BY cityHash64(request_id)",
			"ts DateTime", "request_id String", "build UInt32", "prediction Float64", "latency_ms Float32",
			"distance Float32", "stops UInt16", "zone String", "fleet String"),
		mk("reg_labels", "MergeTree ORDER BY request_id", "request_id String", "label Float64", "ts DateTime"),
		mk("mlmon.training", "MergeTree ORDER BY id",
			"id UInt32", "distance Float32", "stops UInt16", "zone String", "prediction Float64"),
	}
}

// generate fills the tables with deterministic rows. Every query must see
// fewer than 8192 rows per aggregate, so that 18.16's reservoir quantiles
// are exact and both engines must agree on them to the bit.
//
// The rows hold what production data holds: NULL and NaN (and an infinity)
// in numeric features, scores and latencies; scores outside [0, 1] and on
// bucket boundaries (x.5 thousandths); categories with a quote and a
// backslash; a category that is NULL throughout the reference; categories
// the reference never saw; labels that never arrive, arrive twice, are
// corrected later, or conflict within the same second; two versions in the
// last second of the window; rows after the scrape time.
func generate(ts map[string]*table) {
	rng := rand.New(rand.NewPCG(20260601, 10))
	now := scrapeNow
	id := 0
	nextID := func(prefix string) string { id++; return fmt.Sprintf("%s-%06d", prefix, id) }
	pick := func(xs []string, weights []float64) string {
		u, acc := rng.Float64(), 0.0
		for i, w := range weights {
			acc += w
			if u < acc {
				return xs[i]
			}
		}
		return xs[len(xs)-1]
	}
	randTime := func(from, to time.Time) time.Time {
		return from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)/time.Second))) * time.Second)
	}
	// Recent rows avoid the last second of the current window, which is
	// kept for the version tie below.
	recent := func(from, to time.Time) time.Time {
		for {
			t := randTime(from, to)
			if !t.Equal(now.Add(-time.Second)) {
				return t
			}
		}
	}
	maybe := func(p float64) bool { return rng.Float64() < p }
	latency := func() any {
		switch {
		case maybe(0.05):
			return nil
		case maybe(0.005):
			return math.NaN()
		}
		return math.Round(math.Exp(3.5+0.6*rng.NormFloat64())*1000) / 1000
	}
	labels := ts["labels"]
	addLabels := func(rid string, at time.Time, value string, other func() string) {
		if maybe(0.2) {
			return // never arrives
		}
		lts := at.Add(time.Duration(1+rng.IntN(90)) * time.Minute)
		labels.rows = append(labels.rows, []any{rid, value, lts})
		switch {
		case maybe(0.05): // corrected an hour later: the correction wins
			labels.rows = append(labels.rows, []any{rid, other(), lts.Add(time.Hour)})
		case maybe(0.03): // delivered twice
			labels.rows = append(labels.rows, []any{rid, value, lts})
		case maybe(0.03): // two different labels in the same second
			labels.rows = append(labels.rows, []any{rid, other(), lts})
		}
	}

	preds := ts["preds"]
	plans := []string{"basic", "pro", "team", "free", "legacy", "edu", "gov"}
	planW := []float64{0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05}
	regions := []string{"north", "south", "o'hare", `c:\dir`}
	churnRow := func(at time.Time, current bool) {
		rid := nextID("c")
		var score any
		s := math.Round(rng.Float64()*1e4) / 1e4 // a tenth end in 5: x.5 thousandths
		switch {
		case maybe(0.03):
			score = nil
		case maybe(0.01):
			score = math.NaN()
		case maybe(0.03):
			s = []float64{0.0625, 0.3125, 0.5625, 0.8125, 0, 1}[rng.IntN(6)] // exact bucket boundaries
			score = s
		case maybe(0.01):
			s = []float64{1.25, -0.25}[rng.IntN(2)] // clamped
			score = s
		default:
			score = s
		}
		pred := "0"
		if s >= 0.5 {
			pred = "1"
		}
		actual := "0"
		if maybe(0.15 + 0.7*math.Min(math.Max(s, 0), 1)) {
			actual = "1"
		}
		var version any = "v1"
		if at.After(now.Add(-2 * time.Hour)) {
			version = "v2"
		}
		if maybe(0.03) {
			version = nil
		}
		var isErr any = uint8(0)
		switch {
		case maybe(0.02):
			isErr = uint8(1)
		case maybe(0.02):
			isErr = nil
		}
		shift := 0.0
		if current {
			shift = 1
		}
		var income any = math.Round(rng.ExpFloat64()*(300000+45000*shift)) / 100
		switch {
		case maybe(0.05):
			income = nil
		case maybe(0.01):
			income = math.NaN()
		case maybe(0.005):
			income = math.Inf(1)
		}
		var visits any = int64(rng.IntN(30 + 10*int(shift)))
		if maybe(0.1) {
			visits = nil
		}
		plan := pick(plans, planW)
		if current && maybe(0.05) {
			plan = "enterprise_plus"
		}
		var region any = regions[rng.IntN(len(regions))]
		if maybe(0.1) {
			region = nil
		} else if current && maybe(0.03) {
			region = "east"
		}
		var promo any
		if current && maybe(0.3) {
			promo = "spring"
		}
		preds.rows = append(preds.rows, []any{at, rid, "churn", version, pred, score, latency(), isErr,
			uint8(18 + rng.IntN(60) + 5*int(shift)), income, visits, plan, region, promo})
		flip := map[string]string{"0": "1", "1": "0"}[actual]
		addLabels(rid, at, actual, func() string { return flip })
	}
	for range 1200 {
		churnRow(randTime(refFrom, refTo), false)
	}
	for range 2400 {
		churnRow(recent(now.Add(-4*time.Hour), now.Add(10*time.Minute)), true)
	}
	// Two versions in the same, last second of the current window.
	for _, v := range []string{"v2", "v3"} {
		preds.rows = append(preds.rows, []any{now.Add(-time.Second), nextID("c"), "churn", v, "1", 0.75, 12.5, uint8(0),
			uint8(40), 1000.0, int64(3), "pro", "north", nil})
	}

	classes := []string{"billing", "cancel", "sales", "tech_support", "it's other"}
	classW := []float64{0.35, 0.25, 0.2, 0.15, 0.05}
	intentRow := func(at time.Time, current bool) {
		rid := nextID("i")
		actual := pick(classes, classW)
		pred := actual
		if maybe(0.3) {
			pred = classes[rng.IntN(len(classes))]
		}
		plan := pick(plans, planW)
		age := 18 + rng.IntN(60)
		if current && maybe(0.3) {
			age += 10
		}
		// A score for the scores: of the intent model (one class's), drawn
		// from nothing random so the other rows stay as they were.
		score := float64(age%9) / 8
		preds.rows = append(preds.rows, []any{at, rid, intentName, "x", pred, score, latency(), uint8(0),
			uint8(age), nil, nil, plan, nil, nil})
		addLabels(rid, at, actual, func() string { return classes[rng.IntN(len(classes))] })
	}
	for range 1500 {
		intentRow(randTime(now.Add(-28*time.Hour), now.Add(-20*time.Hour)), false)
	}
	for range 1200 {
		intentRow(recent(now.Add(-4*time.Hour), now), true)
	}
	// Labels of predictions that do not exist, and labels too old to count.
	for range 40 {
		labels.rows = append(labels.rows, []any{nextID("orphan"), "1", recent(now.Add(-3*time.Hour), now)})
	}

	regPreds, regLabels := ts["reg_preds"], ts["reg_labels"]
	zones := []string{"a", "b", "c", "d", "e", "zone'x"}
	zoneW := []float64{0.3, 0.25, 0.2, 0.1, 0.1, 0.05}
	for range 3000 {
		at := recent(now.Add(-27*time.Hour), now.Add(5*time.Minute))
		rid := nextID("r")
		y := math.Round(rng.ExpFloat64()*20*100) / 100
		if maybe(0.03) {
			y = 0
		}
		p := math.Round((y+3*rng.NormFloat64())*1000) / 1000
		if maybe(0.01) {
			p = math.NaN()
		}
		build := uint32(100)
		if at.After(now.Add(-6 * time.Hour)) {
			build = 101
		}
		current := at.After(now.Add(-time.Hour))
		dist := float32(rng.IntN(200)) / 4
		if current {
			dist += 2.5
		}
		// Two fleets, told apart by fleet alone (model_column), from the
		// row's place so that the other columns' draws stay as they were.
		fleet := []string{"car", "car", "bike"}[len(regPreds.rows)%3]
		regPreds.rows = append(regPreds.rows, []any{at, rid, build, p, float32(math.Round(math.Exp(2+0.5*rng.NormFloat64())*8) / 8),
			dist, uint16(rng.IntN(13)), pick(zones, zoneW), fleet})
		if maybe(0.2) {
			continue
		}
		label := y
		if maybe(0.01) {
			label = math.NaN()
		}
		lts := at.Add(time.Duration(1+rng.IntN(50)) * time.Minute)
		regLabels.rows = append(regLabels.rows, []any{rid, label, lts})
		switch {
		case maybe(0.05):
			regLabels.rows = append(regLabels.rows, []any{rid, y + 1, lts.Add(time.Hour)})
		case maybe(0.03):
			regLabels.rows = append(regLabels.rows, []any{rid, y + 0.5, lts})
		}
	}
	training := ts["mlmon.training"]
	for i := range 1500 {
		training.rows = append(training.rows, []any{uint32(i), float32(rng.IntN(200)) / 4, uint16(rng.IntN(13)),
			pick(zones, []float64{0.2, 0.2, 0.2, 0.2, 0.15, 0.05}), math.Round(rng.ExpFloat64()*20*1000) / 1000})
	}
}

// seed creates the tables on both engines and inserts the same rows: with
// clickhouse-go's batch on 18.16 (an Exec of INSERT … VALUES hangs there),
// as INSERT … SELECT from the values() table function, all literals, on
// chDB.
func seed(t *testing.T, srv *chtest.Server, db *ChDB) []*table {
	t.Helper()
	ctx := context.Background()
	all := tables()
	byName := map[string]*table{}
	for _, tb := range all {
		byName[tb.name] = tb
	}
	generate(byName)
	for _, tb := range all {
		if len(tb.rows) >= 8192 {
			t.Fatalf("%s: %d rows; keep every table below 8192 rows so that 18.16's quantiles are exact", tb.name, len(tb.rows))
		}
	}
	stmts := []string{"CREATE DATABASE mlmon"}
	for _, tb := range all {
		stmts = append(stmts, tb.ddl)
	}
	if err := srv.Exec(ctx, stmts...); err != nil {
		t.Fatal("18.16: ", err)
	}
	if err := db.Exec(stmts...); err != nil {
		t.Fatal(err)
	}
	for _, tb := range all {
		cols := " (" + strings.Join(tb.cols, ", ") + ")"
		batch, err := srv.Conn().PrepareBatch(ctx, "INSERT INTO "+tb.name+cols)
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		for _, r := range tb.rows {
			if err := batch.Append(r...); err != nil {
				t.Fatalf("18.16 %s: %v", tb.name, err)
			}
			lits := make([]string, len(r))
			for i, v := range r {
				lits[i] = valueLiteral(v)
			}
			values = append(values, "("+strings.Join(lits, ", ")+")")
		}
		if err := batch.Send(); err != nil {
			t.Fatalf("18.16 %s: %v", tb.name, err)
		}
		// Not INSERT … VALUES: input formats parse floats with a fast parser
		// that is off in the last bit (26.5 reads 8.476 as 8.475999999999999,
		// whatever precise_float_parsing says), while SQL literals, which the
		// values() table function reads, are exact.
		structure := make([]string, len(tb.cols))
		for i := range tb.cols {
			structure[i] = tb.cols[i] + " " + tb.types[i]
		}
		for len(values) > 0 {
			n := min(len(values), 1000)
			if err := db.Exec("INSERT INTO " + tb.name + cols + " SELECT * FROM values(" + Quote(strings.Join(structure, ", ")) +
				", " + strings.Join(values[:n], ", ") + ")"); err != nil {
				t.Fatal(err)
			}
			values = values[n:]
		}
	}
	return all
}

// valueLiteral renders a seeded value as a SQL literal.
func valueLiteral(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return Quote(v)
	case time.Time:
		return strconv.FormatInt(v.Unix(), 10)
	case float64:
		return floatText(v, 64)
	case float32:
		return floatText(float64(v), 32)
	}
	return fmt.Sprint(v)
}

func floatText(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// checkSeeded compares every table's contents on both engines: the rest of
// the test may then blame any difference on the SQL, not on the data.
func checkSeeded(t *testing.T, e *env, all []*table) {
	t.Helper()
	for _, tb := range all {
		sql := "SELECT " + strings.Join(tb.cols, ", ") + " FROM " + tb.name
		a, err := e.run18(sql)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.chdb.Query(sql)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Rows) != len(tb.rows) {
			t.Fatalf("%s: 18.16 holds %d rows, %d seeded", tb.name, len(a.Rows), len(tb.rows))
		}
		if c := Compare(a, b, Tolerance{}, true); len(c.Differences) > 0 {
			t.Fatalf("%s: the seeded rows differ between the engines:\n%s", tb.name, strings.Join(first(c.Differences, 10), "\n"))
		}
		if !slices.Equal(tb.types, columnTypes(a)) {
			t.Fatalf("%s: types %v, want %v", tb.name, columnTypes(a), tb.types)
		}
	}
}

func columnTypes(r *Result) []string {
	out := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		out[i] = c.Type
	}
	return out
}

func first(xs []string, n int) []string {
	if len(xs) > n {
		return append(xs[:n:n], fmt.Sprintf("… and %d more", len(xs)-n))
	}
	return xs
}
