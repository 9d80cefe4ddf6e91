package chquery

import (
	"context"
	"fmt"

	"github.com/mlmon/mlmon/internal/config"
)

// LabelVolume is how many rows each side of a window's performance join
// would read: the labels that arrived since the window's start, and the
// window's predictions.
type LabelVolume struct {
	Labels, Predictions uint64
}

// FilterPays says whether the label side of the join should be filtered by
// the window's ids (labelSide), rather than keep every label since the
// window's start.
//
// The filter reads the window's ids a second time and builds a set of them;
// without it, the labels of other predictions are grouped and joined for
// nothing. On ClickHouse 26, one model of 3M predictions and 1.5M of their
// labels (docs/benchmarks.md, "The label side's filter"), the filter made the
// join 0.89 s against 0.40 s; with 1.5M labels of other predictions beside
// them (3M labels in all) both forms took 0.90 s, with 4.5M more the
// filtered one was faster (1.08 s against 1.63 s). So the filter pays once
// the labels outnumber the window's predictions.
func (v LabelVolume) FilterPays() bool { return v.Labels > v.Predictions }

// LabelVolumeQuery counts the rows of both sides of src's performance join,
// as LabelVolume: the labels that arrived since the window's start, and the
// window's predictions. The counts read the time columns (and the labels'
// label column) and nothing else: 19 ms for 6M labels on ClickHouse 26. On
// a labels table neither partitioned nor sorted by time, that is every row's
// time, which the join's label side reads too: there the count doubles that
// part of the join's reading.
func LabelVolumeQuery(m *config.Model, src Source) (Query, error) {
	if m.GroundTruth == nil {
		return Query{}, fmt.Errorf("model %q has no ground_truth", m.Name)
	}
	var ids identifiers
	var b sqlBuilder
	// A scalar subquery is Nullable on current releases, not on 18.16.
	b.add("SELECT ifNull((SELECT count() FROM "+ids.table(m.GroundTruth.Table)+" WHERE "+labelsSince(&ids, m)+"), 0) AS mlmon_labels,",
		src.Window.From.Unix())
	b.add(" ifNull((SELECT count()")
	from(&b, &ids, m, Source{Window: src.Window, Models: src.Models})
	b.add("), 0) AS mlmon_predictions")
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("performance"), nil
}

// FilterLabels returns src with ReadOnce set when the label side of its
// join is better left unfiltered (LabelVolume.FilterPays), counting both
// sides first. It keeps the filter where the label side is shipped between
// shards (JoinGlobal, JoinInitiator: the filter also bounds the bytes sent)
// and under sampling (the filter is what samples the labels).
func (c *Client) FilterLabels(ctx context.Context, m *config.Model, src Source, name string) (Source, error) {
	if src.ReadOnce || src.Sampling.active() || src.Join == JoinGlobal || src.Join == JoinInitiator {
		return src, nil
	}
	v, err := c.LabelVolume(ctx, m, src, name)
	if err != nil {
		return src, err
	}
	src.ReadOnce = !v.FilterPays()
	return src, nil
}

// LabelVolume runs LabelVolumeQuery.
func (c *Client) LabelVolume(ctx context.Context, m *config.Model, src Source, name string) (LabelVolume, error) {
	q, err := LabelVolumeQuery(m, src)
	if err != nil {
		return LabelVolume{}, err
	}
	q.Name = name
	var v LabelVolume
	err = c.QueryRow(ctx, m.Name, q, &v.Labels, &v.Predictions)
	return v, err
}
