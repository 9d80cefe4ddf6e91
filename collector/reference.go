package collector

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// referenceRefresh is how long a rolling reference is reused. A fixed range
// or a reference table does not change, so it is computed once per
// configuration.
const referenceRefresh = 5 * time.Minute

// driftColumn is one distribution compared against the reference: a feature,
// or the model's output (feature "").
type driftColumn struct {
	feature         string
	refCol, currCol string
	numeric         bool
}

// driftColumns lists a model's compared columns: its features, then its
// output — the score for binary models that have one, else the prediction
// (class proportions, or binned values for regression).
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

// reference is a model's cached reference: aggregates only, never rows.
type reference struct {
	computed time.Time
	columns  []driftColumn
	profile  chquery.Profile
	binnings []chquery.Binning // over the reference's column names
	stats    chquery.WindowStats
	// segments are the tracked values of the model's segments, nil
	// without segments; the window passes count them (Source.Segments).
	segments *chquery.Segments
}

// currentBinnings are the reference binnings addressed to the predictions
// table's column names.
func (r *reference) currentBinnings() []chquery.Binning {
	out := make([]chquery.Binning, len(r.binnings))
	for i, b := range r.binnings {
		b.Name = r.columns[i].currCol
		out[i] = b
	}
	return out
}

// References caches each model's reference statistics and reference
// performance. It belongs to one Target, so a reload starts afresh.
type References struct {
	client      *chquery.Client
	stats       *cache[*reference]
	performance *cache[perf] // the reference window's join with the labels
	close       context.CancelFunc
	// history: every scrape's clock is its own (a backfill), so a value is
	// cached per reference window and never refreshed (see
	// NewHistoryTarget).
	history bool
}

// NewReferences returns an empty cache whose computations run on client,
// each bounded by timeout (query_timeout, not the scrape's deadline), one at
// a time per model.
func NewReferences(client *chquery.Client, timeout time.Duration) *References {
	ctx, cancel := context.WithCancel(context.Background())
	gate := newModelGate()
	return &References{client: client, stats: newCache[*reference](ctx, timeout, gate),
		performance: newCache[perf](ctx, timeout, gate), close: cancel}
}

// Close cancels the computations running and starts no more (nor retries):
// a reload replaced the target, and the new one computes afresh.
func (r *References) Close() { r.close() }

// get returns the model's reference statistics: computed once for a fixed
// range or a table, every referenceRefresh for a rolling offset.
func (r *References) get(ctx context.Context, m *config.Model, now time.Time) (*reference, error) {
	maxAge := time.Duration(0)
	if m.Reference.Kind == config.ReferenceRolling {
		maxAge = referenceRefresh
	}
	key, maxAge := r.entry(m, referenceWindow(m, now), maxAge)
	return r.stats.get(ctx, key, now, maxAge, func(ctx context.Context) (*reference, error) {
		return r.compute(ctx, m, now)
	})
}

func (r *References) compute(ctx context.Context, m *config.Model, now time.Time) (*reference, error) {
	src := chquery.Source{}
	if w := referenceWindow(m, now); w != nil {
		sampling, err := r.client.Sampling(ctx, m)
		if err != nil {
			return nil, err
		}
		src.Window, src.Sampling = *w, sampling
	} else {
		src.Table = m.Reference.Table
	}
	ref := &reference{computed: now, columns: driftColumns(m)}
	cols := make([]chquery.Column, len(ref.columns))
	for i, c := range ref.columns {
		cols[i] = chquery.Column{Name: c.refCol, Numeric: c.numeric}
	}
	var err error
	if ref.profile, err = r.client.Profile(ctx, m, src, cols, m.Settings.Bins); err != nil {
		return nil, r.explain(ctx, m, cols, err)
	}
	ref.binnings = make([]chquery.Binning, len(cols))
	for i, c := range cols {
		b := chquery.Binning{Column: c}
		p := ref.profile.Columns[i]
		if c.Numeric {
			b.Edges = stats.QuantileEdges(p.Quantiles)
			b.Min, b.Max = p.Min, p.Max
		} else {
			cats, err := r.client.Categories(ctx, m, src, c.Name, chquery.MaxSeenCategories+1)
			if err != nil {
				return nil, err
			}
			b.Categories = []string{}
			for k, cc := range cats {
				if k < m.Settings.MaxCategories {
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
		ref.binnings[i] = b
	}
	if ref.segments, err = r.segmentValues(ctx, m, src, ref.columns); err != nil {
		return nil, err
	}
	src.Segments = ref.segments
	if ref.stats, err = r.client.Window(ctx, m, src, ref.binnings, queryReference); err != nil {
		return nil, err
	}
	return ref, nil
}

// explain names the column behind a failed profile when it is a numeric
// column of a type that holds no numbers: ClickHouse's own message ("Cannot
// parse string 'v4' as Float64") names neither the column nor the feature,
// because one query profiles them all.
func (r *References) explain(ctx context.Context, m *config.Model, cols []chquery.Column, err error) error {
	table := m.Predictions.Table
	if m.Reference.Kind == config.ReferenceTable {
		table = m.Reference.Table
	}
	types, lookupErr := r.client.ColumnTypes(ctx, m.Name, table)
	if lookupErr != nil {
		return err
	}
	var wrong []string
	for _, c := range cols {
		if typ, ok := types[c.Name]; ok && c.Numeric && !chquery.IsNumericType(typ) {
			wrong = append(wrong, fmt.Sprintf("%s is %s", c.Name, typ))
		}
	}
	if len(wrong) == 0 {
		return err
	}
	return fmt.Errorf("numeric column %s in %s, not a number: %w", strings.Join(wrong, ", "), table, err)
}
