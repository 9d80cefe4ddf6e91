//go:build chdb

package compat

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// What follows issues the queries one scrape of a model issues, as the
// collector does (collector/operations.go, performance.go, drift.go,
// reference.go, windows.go), on both engines, and computes the metrics from
// each engine's aggregates. The exporter's client (chquery.Client) runs every
// query on 18.16 as well, and must return what the folds below make of the
// same result: that keeps the folds true to the client.

// Windows, as collector/windows.go derives them.
const freshnessLookback = 24 * time.Hour

func currentWindow(m *config.Model, now time.Time) chquery.Window {
	to := now.Add(-m.Settings.Delay)
	return chquery.Window{From: to.Add(-m.Settings.Window), To: to}
}

func lookbackWindow(m *config.Model, now time.Time) chquery.Window {
	span := max(freshnessLookback, m.Settings.Window+m.Settings.Delay)
	return chquery.Window{From: now.Add(-span), To: now}
}

func performanceWindow(m *config.Model, now time.Time) chquery.Window {
	to := now.Add(-m.Performance.Delay)
	return chquery.Window{From: to.Add(-m.Performance.Window), To: to}
}

func shifted(m *config.Model, w chquery.Window) *chquery.Window {
	if m.Reference == nil {
		return nil
	}
	switch m.Reference.Kind {
	case config.ReferenceFixed:
		return &chquery.Window{From: m.Reference.From, To: m.Reference.To}
	case config.ReferenceRolling:
		return &chquery.Window{From: w.From.Add(-m.Reference.Offset), To: w.To.Add(-m.Reference.Offset)}
	}
	return nil
}

// driftColumn and driftColumns as in collector/reference.go.
type driftColumn struct {
	feature, refCol, currCol string
	numeric                  bool
}

func driftColumns(m *config.Model) []driftColumn {
	table := m.Reference != nil && m.Reference.Kind == config.ReferenceTable
	var cols []driftColumn
	for _, f := range m.Features {
		cols = append(cols, driftColumn{feature: f.Name, refCol: f.Column, currCol: f.Column, numeric: f.Type == config.FeatureNumeric})
	}
	out := driftColumn{currCol: m.Predictions.Prediction, numeric: m.Task == config.TaskRegression}
	if m.Task == config.TaskBinary && m.Predictions.Score != "" && !table {
		out.currCol, out.numeric = m.Predictions.Score, true
	}
	out.refCol = out.currCol
	if table {
		out.refCol = m.Reference.Prediction
	}
	if out.refCol != "" {
		cols = append(cols, out)
	}
	return cols
}

// samplingKeyQuery is the query chquery.Client.Sampling sends (keep in
// step with internal/chquery/client.go).
func samplingKeyQuery(m *config.Model) chquery.Query {
	db, name, qualified := strings.Cut(m.Predictions.Table, ".")
	if !qualified {
		db, name = "", m.Predictions.Table
	}
	return chquery.Query{Name: "sampling_key",
		SQL:  "SELECT sampling_key FROM system.tables WHERE database = if(? = '', currentDatabase(), ?) AND name = ?",
		Args: []any{db, db, name}}
}

// model issues one model's queries and fills each engine's metrics.
func (e *env) model(t *testing.T, m *config.Model, m18, mch *metrics) {
	now := scrapeNow
	cur, lb := currentWindow(m, now), lookbackWindow(m, now)
	q, err := chquery.OperationsQuery(m, cur, lb, false)
	if err != nil {
		t.Fatal(err)
	}
	o := e.compare(t, "operations", q)
	// The form that a Distributed table's shards aggregate, on local tables.
	dq, err := chquery.OperationsQuery(m, cur, lb, true)
	if err != nil {
		t.Fatal(err)
	}
	do := e.compare(t, "operations (Distributed form)", dq)
	for engine, r := range map[string]*Result{"18.16": do.r18, "chDB": do.rch} {
		if d := diff(reflect.ValueOf(foldOperations(t, m, r)), reflect.ValueOf(foldOperations(t, m, o.r18)), "operations", floatTolerance); d != "" {
			t.Errorf("operations: the Distributed form disagrees with one server's on %s: %s", engine, d)
		}
	}
	if o.orig18 != nil {
		ops, err := e.client.Operations(e.ctx, m, cur, lb)
		e.same(t, "operations", ops, foldOperations(t, m, o.orig18), err)
	}
	emitOperations(m18, m, cur, foldOperations(t, m, o.r18))
	emitOperations(mch, m, cur, foldOperations(t, m, o.rch))

	sampling := chquery.Sampling{Ratio: 1}
	if m.Sample > 0 && m.Sample < 1 {
		o := e.compare(t, "sampling_key", samplingKeyQuery(m))
		d := dec{t, "sampling_key"}
		key18, keyCH := d.str(d.one(o.r18)[0]), d.str(d.one(o.rch)[0])
		sampling = chquery.Sampling{Ratio: m.Sample, Clause: key18 != ""}
		if (keyCH != "") != sampling.Clause {
			t.Errorf("sampling key: 18.16 %q, chDB %q", key18, keyCH)
		}
		s, err := e.client.Sampling(e.ctx, m)
		e.same(t, "sampling", s, sampling, err)
	}

	if m.GroundTruth != nil {
		pw := performanceWindow(m, now)
		e.performance(t, m, pw, sampling, "current", m18, mch)
		if ref := shifted(m, pw); ref != nil {
			e.performance(t, m, *ref, sampling, "reference", m18, mch)
		}
		for _, mt := range []*metrics{m18, mch} {
			if ref, cur := mt.confusion["reference"], mt.confusion["current"]; ref != nil && cur != nil {
				emitLabelDrift(mt, m, ref, cur)
			}
		}
	}
	if m.Reference != nil {
		e.drift(t, m, sampling, m18, mch)
	}
}

func (e *env) performance(t *testing.T, m *config.Model, w chquery.Window, sampling chquery.Sampling, window string, m18, mch *metrics) {
	src := chquery.Source{Window: w, Sampling: sampling}
	name := "performance"
	if window == "reference" {
		name = "performance_reference"
	}
	// The counts that decide whether the label side is filtered
	// (chquery.Client.FilterLabels) on current releases.
	vq, err := chquery.LabelVolumeQuery(m, src)
	if err != nil {
		t.Fatal(err)
	}
	vq.Name = name
	e.compare(t, name+" label volume", vq)
	e.sharedJoin(t, m, w, name)
	if m.Task == config.TaskRegression {
		q, err := chquery.RegressionQuery(m, src)
		if err != nil {
			t.Fatal(err)
		}
		q.Name = name
		o := e.compare(t, name, q)
		if o.orig18 != nil {
			got, err := e.client.Regression(e.ctx, m, src, name)
			e.same(t, name, got, foldRegression(t, o.orig18), err)
		}
		emitRegression(m18, window, foldRegression(t, o.r18))
		emitRegression(mch, window, foldRegression(t, o.rch))
		for _, form := range joinForms {
			jsrc, join := form.apply(src), form
			jq, err := chquery.RegressionQuery(m, jsrc)
			if err != nil {
				t.Fatal(err)
			}
			jo := e.compare(t, name+" "+join.String(), jq)
			for engine, r := range map[string]*Result{"18.16": jo.r18, "chDB": jo.rch} {
				if d := diff(reflect.ValueOf(foldRegression(t, r)), reflect.ValueOf(foldRegression(t, o.r18)), name, floatTolerance); d != "" {
					t.Errorf("%s: the %s join disagrees with one server's on %s: %s", name, join, engine, d)
				}
			}
		}
		return
	}
	// The labels travel hashed; their names come from a second query, and
	// the query by name is the exporter's fallback: all three run on both
	// engines, and both ways to the confusion matrix must agree.
	q, err := chquery.ClassificationQuery(m, src)
	if err != nil {
		t.Fatal(err)
	}
	q.Name = name
	o := e.compare(t, name, q)
	var hashes []uint64
	seen := map[uint64]bool{}
	d := dec{t, name}
	for _, row := range o.r18.Rows {
		if h := d.u64(row[1]); d.u64(row[2]) == 1 && !seen[h] {
			seen[h] = true
			hashes = append(hashes, h)
		}
	}
	slices.Sort(hashes)
	names18, namesCH := map[uint64]string{}, map[uint64]string{}
	if len(hashes) > 0 {
		nq, err := chquery.LabelNamesQuery(m, src, hashes)
		if err != nil {
			t.Fatal(err)
		}
		no := e.compare(t, name+" label names", nq)
		names18, namesCH = labelNames(t, no.r18), labelNames(t, no.rch)
	}
	bq, err := chquery.ClassificationByNameQuery(m, src)
	if err != nil {
		t.Fatal(err)
	}
	bq.Name = name
	bo := e.compare(t, name+" by name", bq)
	hashed18 := foldClassification(t, m, o.r18, names18)
	if d := diff(reflect.ValueOf(hashed18), reflect.ValueOf(foldClassification(t, m, bo.r18, nil)), name, floatTolerance); d != "" {
		t.Errorf("%s: by hash and by name disagree on 18.16: %s", name, d)
	}
	if o.orig18 != nil {
		got, err := e.client.Classification(e.ctx, m, src, name)
		e.same(t, name, got, foldClassification(t, m, o.orig18, names18), err)
	}
	emitClassification(m18, m, window, hashed18)
	emitClassification(mch, m, window, foldClassification(t, m, o.rch, namesCH))
	if len(m.Scores) > 0 {
		emitClassScores(m, window, m18, hashed18.ClassScores)
		emitClassScores(m, window, mch, foldClassification(t, m, o.rch, namesCH).ClassScores)
	}
	for _, form := range joinForms {
		jsrc, join := form.apply(src), form
		for _, build := range []func(*config.Model, chquery.Source) (chquery.Query, error){chquery.ClassificationQuery, chquery.ClassificationByNameQuery} {
			jq, err := build(m, jsrc)
			if err != nil {
				t.Fatal(err)
			}
			byName := strings.Contains(jq.SQL, "AS mlmon_label")
			jo := e.compare(t, fmt.Sprintf("%s %s (by name: %v)", name, join, byName), jq)
			n18, nch := names18, namesCH
			if byName {
				n18, nch = nil, nil
			}
			for engine, got := range map[string]any{"18.16": foldClassification(t, m, jo.r18, n18), "chDB": foldClassification(t, m, jo.rch, nch)} {
				if d := diff(reflect.ValueOf(got), reflect.ValueOf(hashed18), name, floatTolerance); d != "" {
					t.Errorf("%s: the %s join disagrees with one server's on %s: %s", name, join, engine, d)
				}
			}
		}
	}
}

// sharedPartners name, for each model that can share its join, another
// value of its model column: one with rows (churn for ghost, bike for car)
// or one without (ghost for churn).
var sharedPartners = map[string]string{"churn": "ghost", "ghost": "churn", "car": "bike"}

// sharedJoin compares on both engines the join that models sharing their
// tables run together (Source.Models), in both forms of its label side, and
// the counts that choose the form.
func (e *env) sharedJoin(t *testing.T, m *config.Model, w chquery.Window, name string) {
	if _, ok := chquery.SharedJoinKey(m, w); !ok {
		return
	}
	partner, ok := sharedPartners[m.Name]
	if !ok {
		t.Fatalf("%s can share its join: name a partner in sharedPartners", m.Name)
	}
	build := chquery.ClassificationQuery
	if m.Task == config.TaskRegression {
		build = chquery.RegressionQuery
	}
	for _, readOnce := range []bool{false, true} {
		shared := chquery.Source{Window: w, Models: []string{m.Name, partner}, ReadOnce: readOnce}
		sq, err := build(m, shared)
		if err != nil {
			t.Fatal(err)
		}
		sq.Name = name
		if o := e.compare(t, fmt.Sprintf("%s shared by two models (read once: %v)", name, readOnce), sq); len(o.r18.Rows) == 0 {
			t.Errorf("%s: the shared join returned no rows: the comparison proves little", name)
		}
		sv, err := chquery.LabelVolumeQuery(m, shared)
		if err != nil {
			t.Fatal(err)
		}
		sv.Name = name
		e.compare(t, name+" label volume, shared by two models", sv)
	}
}

// joinForms are the other SQL forms of the performance join: over
// Distributed tables, and reading the predictions once (servers before
// 19.4). On local tables each must give what the single-server form gives,
// on both engines: the cluster test proves the Distributed forms on a
// cluster of 18.16 servers, this one that current releases parse and run
// them.
var joinForms = []joinForm{
	{join: chquery.JoinLocal}, {join: chquery.JoinGlobal}, {join: chquery.JoinInitiator},
	{readOnce: true}, {join: chquery.JoinLocal, readOnce: true},
}

type joinForm struct {
	join     chquery.JoinStrategy
	readOnce bool
}

func (f joinForm) apply(src chquery.Source) chquery.Source {
	src.Join, src.ReadOnce = f.join, f.readOnce
	return src
}

func (f joinForm) String() string {
	if f.readOnce {
		return f.join.String() + " read once"
	}
	return f.join.String()
}

// labelNames reads LabelNamesQuery's rows into a map by the labels' hashes,
// computed here.
func labelNames(t *testing.T, r *Result) map[uint64]string {
	d := dec{t, "label names"}
	names := map[uint64]string{}
	for _, row := range r.Rows {
		label := d.str(row[0])
		names[chquery.LabelHash(label)] = label
	}
	return names
}

// drift computes the reference as References.compute does, then the current
// window's bins.
func (e *env) drift(t *testing.T, m *config.Model, sampling chquery.Sampling, m18, mch *metrics) {
	now := scrapeNow
	src := chquery.Source{}
	if w := shifted(m, currentWindow(m, now)); w != nil {
		src.Window, src.Sampling = *w, sampling
	} else {
		src.Table = m.Reference.Table
	}
	cols := driftColumns(m)
	qcols := make([]chquery.Column, len(cols))
	for i, c := range cols {
		qcols[i] = chquery.Column{Name: c.refCol, Numeric: c.numeric}
	}
	q, err := chquery.ProfileQuery(m, src, qcols, m.Settings.Bins)
	if err != nil {
		t.Fatal(err)
	}
	o := e.compare(t, "reference profile", q)
	if o.orig18 != nil {
		prof, err := e.client.Profile(e.ctx, m, src, qcols, m.Settings.Bins)
		e.same(t, "reference profile", prof, foldProfile(t, o.orig18, qcols), err)
	}
	p18, pch := foldProfile(t, o.r18, qcols), foldProfile(t, o.rch, qcols)
	dsrc := src
	dsrc.Distributed = true
	dq, err := chquery.ProfileQuery(m, dsrc, qcols, m.Settings.Bins)
	if err != nil {
		t.Fatal(err)
	}
	do := e.compare(t, "reference profile (Distributed form)", dq)
	for engine, r := range map[string]*Result{"18.16": do.r18, "chDB": do.rch} {
		if d := diff(reflect.ValueOf(foldProfile(t, r, qcols)), reflect.ValueOf(p18), "reference profile", floatTolerance); d != "" {
			t.Errorf("reference profile: the Distributed form disagrees with one server's on %s: %s", engine, d)
		}
	}

	// Binnings from each engine's own reference: they must be the same.
	b18, bch := make([]chquery.Binning, len(qcols)), make([]chquery.Binning, len(qcols))
	for i, c := range qcols {
		b18[i], bch[i] = chquery.Binning{Column: c}, chquery.Binning{Column: c}
		if c.Numeric {
			for _, x := range []struct {
				b *chquery.Binning
				p chquery.Profile
			}{{&b18[i], p18}, {&bch[i], pch}} {
				x.b.Edges = stats.QuantileEdges(x.p.Columns[i].Quantiles)
				x.b.Min, x.b.Max = x.p.Columns[i].Min, x.p.Columns[i].Max
			}
			continue
		}
		q, err := chquery.CategoriesQuery(m, src, c.Name, chquery.MaxSeenCategories+1)
		if err != nil {
			t.Fatal(err)
		}
		o := e.compare(t, "reference categories of "+c.Name, q)
		if o.orig18 != nil {
			cats, err := e.client.Categories(e.ctx, m, src, c.Name, chquery.MaxSeenCategories+1)
			e.same(t, "categories of "+c.Name, cats, foldCategories(t, o.orig18), err)
		}
		categoryBinning(&b18[i], foldCategories(t, o.r18), m.Settings.MaxCategories)
		categoryBinning(&bch[i], foldCategories(t, o.rch), m.Settings.MaxCategories)
		dq, err := chquery.CategoriesQuery(m, dsrc, c.Name, chquery.MaxSeenCategories+1)
		if err != nil {
			t.Fatal(err)
		}
		do := e.compare(t, "reference categories of "+c.Name+" (Distributed form)", dq)
		for engine, r := range map[string]*Result{"18.16": do.r18, "chDB": do.rch} {
			if d := diff(reflect.ValueOf(foldCategories(t, r)), reflect.ValueOf(foldCategories(t, o.r18)), "categories", Tolerance{}); d != "" {
				t.Errorf("categories of %s: the Distributed form disagrees with one server's on %s: %s", c.Name, engine, d)
			}
		}
	}
	if d := diff(reflect.ValueOf(b18), reflect.ValueOf(bch), "binnings", Tolerance{}); d != "" {
		t.Errorf("the engines' references bin differently: %s", d)
	}

	r18, rch := e.window(t, "reference bins", m, src, b18)

	curBins := make([]chquery.Binning, len(b18))
	for i, b := range b18 {
		b.Name = cols[i].currCol
		curBins[i] = b
	}
	curSrc := chquery.Source{Window: currentWindow(m, now), Sampling: sampling, Scores: estimated(m), ClassScores: estimatedMulticlass(m)}
	c18, cch := e.window(t, "current bins", m, curSrc, curBins)
	if curSrc.Scores {
		emitEstimate(m18, m, c18.Scores)
		emitEstimate(mch, m, cch.Scores)
	}
	if curSrc.ClassScores {
		emitMulticlassEstimate(m18, m, c18.ClassScores)
		emitMulticlassEstimate(mch, m, cch.ClassScores)
	}

	for _, x := range []struct {
		mt       *metrics
		p        chquery.Profile
		ref, cur chquery.WindowStats
	}{{m18, p18, r18, c18}, {mch, pch, rch, cch}} {
		x.mt.gauge(key("predictions", "reference"), float64(x.p.Rows))
		for i, col := range cols {
			emitColumn(x.mt, m, col, b18[i], x.p.Columns[i], x.ref.Rows, x.ref.Columns[i], x.cur.Rows, x.cur.Columns[i])
		}
	}
}

// window runs a window's two queries (bins, and the numeric columns'
// quantile grid) on both engines and folds each engine's results.
func (e *env) window(t *testing.T, what string, m *config.Model, src chquery.Source, cols []chquery.Binning) (w18, wch chquery.WindowStats) {
	t.Helper()
	q, err := chquery.WindowQuery(m, src, cols)
	if err != nil {
		t.Fatal(err)
	}
	o := e.compare(t, what, q)
	w18, wch = foldWindow(t, o.r18, cols, src.Scores, classCount(m, src)), foldWindow(t, o.rch, cols, src.Scores, classCount(m, src))
	var orig *chquery.WindowStats
	if o.orig18 != nil {
		ws := foldWindow(t, o.orig18, cols, src.Scores, classCount(m, src))
		orig = &ws
	}
	gq, ok, err := chquery.GridQuery(m, src, cols)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		g := e.compare(t, what+" (quantile grid)", gq)
		foldGrid(t, &w18, g.r18, cols)
		foldGrid(t, &wch, g.rch, cols)
		if orig != nil && g.orig18 != nil {
			foldGrid(t, orig, g.orig18, cols)
		}
	}
	if orig != nil {
		got, err := e.client.Window(e.ctx, m, src, cols, q.Name)
		e.same(t, what, got, *orig, err)
	}
	// The form that a Distributed table's shards aggregate, on local tables.
	dsrc := src
	dsrc.Distributed = true
	dq, err := chquery.WindowQuery(m, dsrc, cols)
	if err != nil {
		t.Fatal(err)
	}
	do := e.compare(t, what+" (Distributed form)", dq)
	d18, dch := foldWindow(t, do.r18, cols, src.Scores, classCount(m, src)), foldWindow(t, do.rch, cols, src.Scores, classCount(m, src))
	if gq, ok, err := chquery.GridQuery(m, dsrc, cols); err != nil {
		t.Fatal(err)
	} else if ok {
		g := e.compare(t, what+" (quantile grid, Distributed form)", gq)
		foldGrid(t, &d18, g.r18, cols)
		foldGrid(t, &dch, g.rch, cols)
	}
	for engine, got := range map[string]chquery.WindowStats{"18.16": d18, "chDB": dch} {
		if d := diff(reflect.ValueOf(got), reflect.ValueOf(w18), what, floatTolerance); d != "" {
			t.Errorf("%s: the Distributed form disagrees with one server's on %s: %s", what, engine, d)
		}
	}
	return w18, wch
}

// categoryBinning is References.compute's categorical branch.
func categoryBinning(b *chquery.Binning, cats []chquery.CategoryCount, maxCategories int) {
	b.Categories = []string{}
	for k, cc := range cats {
		if k < maxCategories {
			b.Categories = append(b.Categories, cc.Value)
		}
	}
	if len(cats) <= chquery.MaxSeenCategories {
		b.Seen = make([]string, len(cats))
		for k, cc := range cats {
			b.Seen[k] = cc.Value
		}
	}
}

// probes render the builders with inputs the seeded data cannot produce.
func (e *env) probes(t *testing.T, m *config.Model) {
	now := scrapeNow
	odd := []string{"o'hare", `c:\dir`, "nul\x00byte", "tab\there", "ünïcödé", "?", `\?`, "--", "/*"}
	q, err := chquery.WindowQuery(m, chquery.Source{Window: currentWindow(m, now)}, []chquery.Binning{
		// Subnormal edges and range (a feature of tiny magnitudes).
		{Column: chquery.Column{Name: "income", Numeric: true}, Edges: []float64{-5e-324, 5e-324, 1e-310, 1000}, Min: -1e-320, Max: 2.5e-310},
		// Infinite range, as a reference of only ±Inf would give.
		{Column: chquery.Column{Name: "visits", Numeric: true}, Edges: []float64{3}, Min: math.Inf(-1), Max: math.Inf(1)},
		// Categories that need every escape the binder knows.
		{Column: chquery.Column{Name: "region"}, Categories: odd, Seen: odd},
		{Column: chquery.Column{Name: "plan"}, Categories: []string{}, Seen: []string{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.compare(t, "odd literals", q)
}

// dec reads cells as the client scans them.
type dec struct {
	t    *testing.T
	what string
}

func (d dec) fail(v any, want string) {
	d.t.Helper()
	d.t.Fatalf("%s: cell %s is not %s", d.what, Format(v), want)
}

func (d dec) one(r *Result) []any {
	d.t.Helper()
	if len(r.Rows) != 1 {
		d.t.Fatalf("%s: %d rows, want 1", d.what, len(r.Rows))
	}
	return r.Rows[0]
}

func (d dec) u64(v any) uint64 {
	d.t.Helper()
	i, _ := v.(Int)
	n, err := i.Uint64()
	if err != nil {
		d.fail(v, "a UInt64")
	}
	return n
}

func (d dec) i64(v any) int64 {
	d.t.Helper()
	i, _ := v.(Int)
	n, err := i.Int64()
	if err != nil {
		d.fail(v, "an Int64")
	}
	return n
}

func (d dec) f64(v any) float64 {
	d.t.Helper()
	f, ok := v.(float64)
	if !ok {
		d.fail(v, "a Float64")
	}
	return f
}

func (d dec) str(v any) string {
	d.t.Helper()
	s, ok := v.(string)
	if !ok {
		d.fail(v, "a String")
	}
	return s
}

func (d dec) u64s(v any) []uint64 {
	d.t.Helper()
	xs, ok := v.([]any)
	if !ok {
		d.fail(v, "an Array of integers")
	}
	out := make([]uint64, len(xs))
	for i, x := range xs {
		out[i] = d.u64(x)
	}
	return out
}

func (d dec) f64s(v any) []float64 {
	d.t.Helper()
	xs, ok := v.([]any)
	if !ok {
		d.fail(v, "an Array(Float64)")
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = d.f64(x)
	}
	return out
}

// The folds turn a result into the aggregate the client returns for it
// (internal/chquery: Operations, Profile, Categories, Window,
// Classification, Regression).

func foldOperations(t *testing.T, m *config.Model, r *Result) chquery.Operations {
	d := dec{t, "operations"}
	row := d.one(r)
	ops := chquery.Operations{Predictions: d.u64(row[0]), LatencySamples: d.u64(row[4]), Errors: d.u64(row[5]), Version: d.str(row[6])}
	if d.u64(row[1]) > 0 {
		ops.LastPrediction = time.Unix(int64(d.u64(row[2])), 0)
	}
	if latency := d.f64s(row[3]); ops.LatencySamples > 0 && len(latency) == len(chquery.LatencyQuantiles) && allFinite(latency) {
		ops.Latency = latency
	}
	ops.HasErrors = m.Predictions.Error != ""
	return ops
}

func allFinite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func foldProfile(t *testing.T, r *Result, cols []chquery.Column) chquery.Profile {
	d := dec{t, "profile"}
	row := d.one(r)
	p := chquery.Profile{Rows: d.u64(row[0]), Columns: make([]chquery.ColumnProfile, len(cols))}
	k := 1
	for i, c := range cols {
		cp := &p.Columns[i]
		cp.Present = d.u64(row[k])
		k++
		if c.Numeric {
			cp.Quantiles, cp.Grid = d.f64s(row[k]), d.f64s(row[k+1])
			cp.Min, cp.Max, cp.StdDev = d.f64(row[k+2]), d.f64(row[k+3]), d.f64(row[k+4])
			k += 5
		}
	}
	if k != len(row) {
		t.Fatalf("profile: %d columns, read %d", len(row), k)
	}
	return p
}

func foldCategories(t *testing.T, r *Result) []chquery.CategoryCount {
	d := dec{t, "categories"}
	var out []chquery.CategoryCount
	for _, row := range r.Rows {
		out = append(out, chquery.CategoryCount{Value: d.str(row[0]), Rows: d.u64(row[1])})
	}
	return out
}

func foldWindow(t *testing.T, r *Result, cols []chquery.Binning, scores bool, classes int) chquery.WindowStats {
	d := dec{t, "window"}
	var keys, counts []uint64
	for _, row := range r.Rows {
		keys, counts = append(keys, d.u64(row[0])), append(counts, d.u64(row[1]))
	}
	fold := chquery.FoldWindow
	switch {
	case scores:
		fold = chquery.FoldScoredWindow
	case classes > 0:
		fold = func(cols []chquery.Binning, keys, counts []uint64) (chquery.WindowStats, error) {
			return chquery.FoldClassScoredWindow(cols, classes, keys, counts)
		}
	}
	ws, err := fold(cols, keys, counts)
	if err != nil {
		t.Fatalf("window: %v", err)
	}
	return ws
}

// foldGrid reads GridQuery's one row into the numeric columns' grids.
func foldGrid(t *testing.T, ws *chquery.WindowStats, r *Result, cols []chquery.Binning) {
	d := dec{t, "quantile grid"}
	row := d.one(r)
	k := 0
	for i, c := range cols {
		if c.Numeric {
			ws.Columns[i].Grid = d.f64s(row[k])
			k++
		}
	}
	if k != len(row) {
		t.Fatalf("quantile grid: %d columns, read %d", len(row), k)
	}
}

// foldClassification folds a classification query's rows: with names, the
// labels are hashes to look up (ClassificationQuery); without, strings
// (ClassificationByNameQuery).
func foldClassification(t *testing.T, m *config.Model, r *Result, names map[uint64]string) chquery.Classification {
	d := dec{t, "classification"}
	res := chquery.Classification{Confusion: stats.Confusion{}}
	buckets := map[int64]*stats.ScoreBucket{}
	var cs *chquery.ClassScoreFold
	if m.Task == config.TaskMulticlass && len(m.Scores) > 0 {
		cs = chquery.NewClassScoreFold(m.ScoreClasses())
	}
	for _, row := range r.Rows {
		pred, matched, bucket, n := d.str(row[0]), d.u64(row[2]), d.i64(row[3]), d.u64(row[4])
		var label string
		if names != nil {
			if matched == 1 {
				h := d.u64(row[1])
				var ok bool
				if label, ok = names[h]; !ok {
					t.Fatalf("classification: label hash %d has no name", h)
				}
			}
		} else {
			label = d.str(row[1])
		}
		ll, brier, lts := d.f64(row[5]), d.f64(row[6]), d.u64(row[7])
		res.Predictions += n
		if matched == 0 {
			continue
		}
		res.Labeled += n
		if tm := time.Unix(int64(lts), 0); lts > 0 && tm.After(res.LastLabel) {
			res.LastLabel = tm
		}
		if res.Confusion[label] == nil {
			res.Confusion[label] = map[string]float64{}
		}
		res.Confusion[label][pred] += float64(n)
		if cs != nil {
			// The class score map is the last two columns.
			keys, counts := d.u64s(row[len(row)-2]), d.u64s(row[len(row)-1])
			k32 := make([]uint32, len(keys))
			for x, k := range keys {
				k32[x] = uint32(k)
			}
			if err := cs.Add(pred, label, k32, counts); err != nil {
				t.Fatal(err)
			}
		}
		if bucket < 0 {
			continue
		}
		sb := buckets[bucket]
		if sb == nil {
			sb = &stats.ScoreBucket{Score: float64(bucket) / chquery.ScoreBuckets}
			buckets[bucket] = sb
		}
		if label == m.PositiveClass {
			sb.Positives += float64(n)
		} else {
			sb.Negatives += float64(n)
		}
		res.ScoreRows += float64(n)
		res.LogLossSum += ll
		res.BrierSum += brier
	}
	for _, sb := range buckets {
		res.Scores = append(res.Scores, *sb)
	}
	sortScores(res.Scores)
	if cs != nil {
		res.ClassScores = cs.Result()
	}
	return res
}

func sortScores(s []stats.ScoreBucket) {
	sort.Slice(s, func(i, j int) bool { return s[i].Score < s[j].Score })
}

func foldRegression(t *testing.T, r *Result) chquery.Regression {
	d := dec{t, "regression"}
	row := d.one(r)
	res := chquery.Regression{Labels: chquery.Labels{Predictions: d.u64(row[0]), Labeled: d.u64(row[1])}}
	if lts := d.u64(row[2]); res.Labeled > 0 && lts > 0 {
		res.LastLabel = time.Unix(int64(lts), 0)
	}
	res.Sums = stats.RegressionSums{N: float64(d.u64(row[3])), SumAbsError: d.f64(row[4]), SumSqError: d.f64(row[5]),
		SumAbsPctErr: d.f64(row[6]), NNonZero: float64(d.u64(row[7])), LabelVarPop: d.f64(row[8])}
	return res
}

// same reports where the client's aggregate differs from the fold's.
func (e *env) same(t *testing.T, what string, got, want any, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("client %s on 18.16: %v", what, err)
		return
	}
	if c, ok := got.(chquery.Classification); ok {
		sortScores(c.Scores)
		got = c
	}
	if d := diff(reflect.ValueOf(got), reflect.ValueOf(want), what, floatTolerance); d != "" {
		t.Errorf("client and fold disagree on 18.16's result: %s", d)
	}
}

// diff compares two values deeply, floats within tol; "" when they agree.
func diff(a, b reflect.Value, path string, tol Tolerance) string {
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: %s vs %s", path, a.Type(), b.Type())
	}
	if a.Type() == reflect.TypeOf(time.Time{}) {
		if !a.Interface().(time.Time).Equal(b.Interface().(time.Time)) {
			return fmt.Sprintf("%s: %v vs %v", path, a.Interface(), b.Interface())
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: nil %v vs nil %v", path, a.IsNil(), b.IsNil())
			}
			return ""
		}
		return diff(a.Elem(), b.Elem(), path, tol)
	case reflect.Float32, reflect.Float64:
		if !tol.FloatsAgree(a.Float(), b.Float()) {
			return fmt.Sprintf("%s: %v vs %v", path, a.Float(), b.Float())
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if d := diff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name, tol); d != "" {
				return d
			}
		}
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: nil %v vs nil %v", path, a.IsNil(), b.IsNil())
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d vs %d elements", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := diff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), tol); d != "" {
				return d
			}
		}
	case reflect.Map:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d vs %d keys", path, a.Len(), b.Len())
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("%s[%v]: missing", path, k)
			}
			if d := diff(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k), tol); d != "" {
				return d
			}
		}
	default:
		if a.Interface() != b.Interface() {
			return fmt.Sprintf("%s: %v vs %v", path, a.Interface(), b.Interface())
		}
	}
	return ""
}

// metrics are one engine's metrics for one model, keyed name{labels}, as
// the collector would emit them (NaN and infinities left out).
type metrics struct {
	values         map[string]float64
	strings        map[string]string
	confusion      map[string]stats.Confusion // by window, for label drift
	refScores      []stats.ScoreBucket        // the reference's labelled score histogram
	refClassScores *chquery.ClassScores       // a multiclass model's (scores:)
}

// estimated is whether the collector estimates the model's performance
// without labels (collector/estimate.go): it asks the current window for
// its score histogram then.
func estimated(m *config.Model) bool {
	return m.Task == config.TaskBinary && m.Predictions.Score != "" && m.GroundTruth != nil &&
		m.Reference != nil && m.Reference.Kind != config.ReferenceTable && m.Preaggregated == nil
}

// emitEstimate is the heart of collector/estimate.go: the reference's
// calibration applied to the current window's score histogram.
func emitEstimate(mt *metrics, m *config.Model, cur *chquery.ScoreHistogram) {
	f := stats.FitIsotonic(mt.refScores)
	buckets := cur.Buckets()
	rep := stats.Classify(stats.ExpectedConfusion(f, buckets, m.PositiveClass, "negative"))
	mt.gauge("estimated_accuracy", rep.Accuracy)
	mt.gauge(key("estimated_f1", "macro"), rep.Macro.F1)
	mt.gauge("estimated_roc_auc", stats.ExpectedROCAUC(f, buckets))
	mt.gauge(key("calibration_error", "raw"), stats.CalibrationError(mt.refScores))
	mt.gauge(key("calibration_error", "calibrated"), stats.CrossFittedCalibrationError(mt.refScores))
}

func newMetrics() *metrics {
	return &metrics{values: map[string]float64{}, strings: map[string]string{}, confusion: map[string]stats.Confusion{}}
}

func key(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	return name + "{" + strings.Join(labels, ",") + "}"
}

func (mt *metrics) gauge(k string, v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		mt.values[k] = v
	}
}

func emitOperations(mt *metrics, m *config.Model, cur chquery.Window, ops chquery.Operations) {
	mt.strings["version"] = ops.Version
	mt.gauge(key("predictions", "current"), float64(ops.Predictions))
	mt.gauge("prediction_rate", float64(ops.Predictions)/cur.Duration().Seconds())
	if !ops.LastPrediction.IsZero() {
		mt.gauge("last_prediction", float64(ops.LastPrediction.Unix()))
	}
	for i, q := range ops.Latency {
		mt.gauge(key("latency", strconv.FormatFloat(chquery.LatencyQuantiles[i], 'g', -1, 64)), q/1000)
	}
	if ops.HasErrors && ops.Predictions > 0 {
		mt.gauge("error_ratio", float64(ops.Errors)/float64(ops.Predictions))
	}
}

func emitLabels(mt *metrics, window string, l chquery.Labels) {
	if window != "current" {
		return
	}
	mt.gauge("labeled", float64(l.Labeled))
	if l.Predictions > 0 {
		mt.gauge("label_coverage", float64(l.Labeled)/float64(l.Predictions))
	}
	if !l.LastLabel.IsZero() {
		mt.gauge("last_label", float64(l.LastLabel.Unix()))
	}
}

func emitRegression(mt *metrics, window string, r chquery.Regression) {
	emitLabels(mt, window, r.Labels)
	rep := stats.Regress(r.Sums)
	mt.gauge(key("mae", window), rep.MAE)
	mt.gauge(key("rmse", window), rep.RMSE)
	mt.gauge(key("mape", window), rep.MAPE)
	mt.gauge(key("r2", window), rep.R2)
}

func emitClassification(mt *metrics, m *config.Model, window string, c chquery.Classification) {
	emitLabels(mt, window, c.Labels)
	mt.confusion[window] = c.Confusion
	if window == "reference" {
		mt.refScores = c.Scores
	}
	rep := stats.Classify(c.Confusion)
	mt.gauge(key("accuracy", window), rep.Accuracy)
	for _, a := range []struct {
		name string
		avg  stats.Average
	}{{"macro", rep.Macro}, {"weighted", rep.Weighted}, {"micro", rep.Micro}} {
		mt.gauge(key("precision", window, a.name), a.avg.Precision)
		mt.gauge(key("recall", window, a.name), a.avg.Recall)
		mt.gauge(key("f1", window, a.name), a.avg.F1)
	}
	if m.Task == config.TaskBinary && m.Predictions.Score != "" {
		mt.gauge(key("roc_auc", window), stats.ROCAUC(c.Scores))
		mt.gauge(key("log_loss", window), stats.MeanOf(c.LogLossSum, c.ScoreRows))
		mt.gauge(key("brier", window), stats.MeanOf(c.BrierSum, c.ScoreRows))
	}
	if window != "current" {
		return
	}
	kept := stats.TopClasses(c.Confusion, m.Settings.MaxClasses)
	for _, class := range kept {
		cs := rep.Classes[class]
		mt.gauge(key("class_precision", class), cs.Precision)
		mt.gauge(key("class_recall", class), cs.Recall)
		mt.gauge(key("class_f1", class), cs.F1)
	}
	for actual, row := range c.Confusion.Capped(kept, stats.OtherCategory) {
		for predicted, n := range row {
			mt.gauge(key("confusion", actual, predicted), n)
		}
	}
}

// emitLabelDrift is collector.emitLabelDrift.
func emitLabelDrift(mt *metrics, m *config.Model, ref, cur stats.Confusion) {
	b := stats.BinLabels(ref, cur, m.Settings.MaxClasses)
	if b.ReferenceRows < float64(m.Settings.MinSamples) || b.CurrentRows < float64(m.Settings.MinSamples) {
		return
	}
	mt.gauge("label_psi", stats.PSI(b.Reference, b.Current))
	mt.gauge("label_js", stats.JSDivergence(b.Reference, b.Current))
}

// emitColumn is collector.emitColumn.
func emitColumn(mt *metrics, m *config.Model, col driftColumn, bin chquery.Binning, prof chquery.ColumnProfile,
	refRows uint64, ref chquery.ColumnStats, curRows uint64, cur chquery.ColumnStats) {
	minSamples := uint64(m.Settings.MinSamples)
	refN, curN := refRows-ref.Missing, curRows-cur.Missing
	f := col.feature
	if f != "" {
		mt.gauge(key("feature_samples", f, "current"), float64(curN))
		mt.gauge(key("feature_samples", f, "reference"), float64(refN))
		if curRows >= minSamples {
			mt.gauge(key("feature_missing", f, "current"), float64(cur.Missing)/float64(curRows))
		}
		if refRows >= minSamples {
			mt.gauge(key("feature_missing", f, "reference"), float64(ref.Missing)/float64(refRows))
		}
		if curN >= minSamples && refN > 0 {
			if col.numeric {
				mt.gauge(key("feature_out_of_range", f), float64(cur.OutOfRange)/float64(curN))
			} else if bin.Seen != nil {
				mt.gauge(key("feature_unseen", f), float64(cur.Unseen)/float64(curN))
			}
		}
	}
	if curN < minSamples || refN < minSamples {
		return
	}
	r, c := floats(ref.Bins), floats(cur.Bins)
	psi, js := stats.PSI(r, c), stats.JSDivergence(r, c)
	if f == "" {
		mt.gauge("prediction_psi", psi)
		mt.gauge("prediction_js", js)
		return
	}
	mt.gauge(key("feature_psi", f), psi)
	mt.gauge(key("feature_js", f), js)
	mt.gauge(key("feature_chi2_p", f), stats.ChiSquareP(r, c))
	occupied := 0
	for i := range r {
		if r[i] > 0 || c[i] > 0 {
			occupied++
		}
	}
	mt.gauge(key("feature_psi_critical", f), stats.PSICriticalValue(float64(refN), float64(curN), occupied))
	if col.numeric {
		mt.gauge(key("feature_ks", f), stats.KSStatistic(r, c))
		mt.gauge(key("feature_wasserstein", f), stats.Wasserstein(prof.Grid, cur.Grid, prof.StdDev))
	}
}

func floats(xs []uint64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// compareMetrics holds the engines' metrics to docs/statistics.md: the same series,
// ROC AUC within 0.005 (it comes from a score histogram), everything else
// equal up to float summation order.
func compareMetrics(t *testing.T, a, b *metrics) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(a.values)) {
		bv, ok := b.values[k]
		if !ok {
			t.Errorf("metric %s = %g on 18.16, not computed from chDB's results", k, a.values[k])
			continue
		}
		ok = floatTolerance.FloatsAgree(a.values[k], bv)
		if strings.HasPrefix(k, "roc_auc") {
			ok = math.Abs(a.values[k]-bv) < 0.005
		}
		if !ok {
			t.Errorf("metric %s: %.15g from 18.16, %.15g from chDB", k, a.values[k], bv)
		}
	}
	for k, v := range b.values {
		if _, ok := a.values[k]; !ok {
			t.Errorf("metric %s = %g from chDB's results, not computed on 18.16", k, v)
		}
	}
	if !maps.Equal(a.strings, b.strings) {
		t.Errorf("labels: %v from 18.16, %v from chDB", a.strings, b.strings)
	}
}
