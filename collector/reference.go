package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// References caches each model's reference statistics. It belongs to one
// Target, so a reload starts afresh.
type References struct {
	client  *chquery.Client
	timeout time.Duration
	mu      sync.Mutex
	entries map[string]*referenceEntry
}

type referenceEntry struct {
	mu      sync.Mutex
	ref     *reference
	running chan struct{} // closed when the computation in flight ends
	err     error         // of the last computation
}

// NewReferences returns an empty cache whose computations run on client,
// each bounded by timeout (query_timeout, not the scrape's deadline: a large
// reference may take longer than one scrape, and then serves the next).
func NewReferences(client *chquery.Client, timeout time.Duration) *References {
	return &References{client: client, timeout: timeout, entries: map[string]*referenceEntry{}}
}

var errReferencePending = errors.New("reference statistics are still being computed")

// get returns the model's reference, computing it if needed. Concurrent
// scrapes share one computation. A stale rolling reference is served while
// its refresh runs in the background.
func (r *References) get(ctx context.Context, m *config.Model, now time.Time) (*reference, error) {
	r.mu.Lock()
	e := r.entries[m.Name]
	if e == nil {
		e = &referenceEntry{}
		r.entries[m.Name] = e
	}
	r.mu.Unlock()

	e.mu.Lock()
	fresh := e.ref != nil && (m.Reference.Kind != config.ReferenceRolling || now.Sub(e.ref.computed) < referenceRefresh)
	if fresh {
		defer e.mu.Unlock()
		return e.ref, nil
	}
	if e.running == nil {
		done := make(chan struct{})
		e.running = done
		go func() {
			ref, err := r.compute(m, now)
			e.mu.Lock()
			if err == nil {
				e.ref = ref
			}
			e.err, e.running = err, nil
			e.mu.Unlock()
			close(done)
		}()
	}
	running, stale := e.running, e.ref
	e.mu.Unlock()
	if stale != nil {
		return stale, nil
	}
	select {
	case <-running:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", errReferencePending, ctx.Err())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ref == nil {
		return nil, e.err
	}
	return e.ref, nil
}

func (r *References) compute(m *config.Model, now time.Time) (*reference, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
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
		return nil, err
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
	if ref.stats, err = r.client.Window(ctx, m, src, ref.binnings, queryReference); err != nil {
		return nil, err
	}
	return ref, nil
}
