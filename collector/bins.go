package collector

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/report"
)

// Distributions as metrics: the drift family's bins, which it computes on
// every scrape for the statistics, exposed as shares (export_bins).
var featureBinRatioDesc = desc("feature_bin_ratio",
	`Share of the window's non-missing values in each drift bin (feature="__prediction__": the model output). bin sorts in bin order and names the interval or category.`,
	"model", "feature", "window", "bin")

// otherBin is the bin label of every categorical value beyond the
// reference's top categories; it sorts after the numbered bins.
const otherBin = "__other__"

// binsFamily runs no query: it reads the bins the drift family counted
// (model.bins) and records them for the report pages (Scrape.Distributions).
var binsFamily = family{
	name:    "bins",
	descs:   []*prometheus.Desc{featureBinRatioDesc},
	queries: func(*config.Model) []string { return nil },
	collect: collectBins,
}

// columnBins is one compared column's bins in both windows, left by the
// drift family for the bins family.
type columnBins struct {
	col              driftColumn
	binning          chquery.Binning
	refRows, curRows uint64
	ref, cur         chquery.ColumnStats
}

// recordBins keeps one column's bins for collectBins.
func (m *model) recordBins(col driftColumn, b chquery.Binning, refRows uint64, ref chquery.ColumnStats, curRows uint64, cur chquery.ColumnStats) {
	m.bins = append(m.bins, columnBins{col: col, binning: b, refRows: refRows, curRows: curRows, ref: ref, cur: cur})
}

func collectBins(_ context.Context, m *model) error {
	for _, c := range m.bins {
		d := distribution(m.Model, c)
		m.scrape.recorded.add(m.Name, d)
		if !m.Settings.ExportBins {
			continue
		}
		// Category values become label values only when the model opts in
		// (export_categories); the classes of the output are label values
		// of the class metrics already.
		named := d.Numeric || d.Feature == report.PredictionFeature || m.Settings.ExportCategories
		for _, b := range d.Bins {
			if !named && !b.Other {
				continue
			}
			if b.Current != nil {
				m.out.gauge(featureBinRatioDesc, *b.Current, m.Name, d.Feature, windowCurrent, b.Label)
			}
			if b.Reference != nil {
				m.out.gauge(featureBinRatioDesc, *b.Reference, m.Name, d.Feature, windowReference, b.Label)
			}
		}
	}
	return nil
}

// distribution labels a column's bins and turns each window's counts into
// shares of its binned (non-missing) values; a window with fewer than
// min_samples values has no shares, as it has no drift statistics.
func distribution(m *config.Model, c columnBins) report.Distribution {
	d := report.Distribution{Feature: c.col.feature, Numeric: c.col.numeric}
	if d.Feature == "" {
		d.Feature = report.PredictionFeature
	}
	refShares := shares(c.ref.Bins, m.Settings.MinSamples)
	curShares := shares(c.cur.Bins, m.Settings.MinSamples)
	n := max(len(c.ref.Bins), len(c.cur.Bins))
	for i := range n {
		var b report.Bin
		if c.col.numeric {
			b = numericBin(i, c.binning.Edges, m.Settings.Bins)
		} else {
			b = categoryBin(i, c.binning.Categories, m.Settings.MaxCategories)
		}
		b.Reference, b.Current = at(refShares, i), at(curShares, i)
		d.Bins = append(d.Bins, b)
	}
	return d
}

// shares divides counts by their sum, nil below minSamples.
func shares(counts []uint64, minSamples int) []float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 || total < uint64(minSamples) {
		return nil
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = float64(c) / float64(total)
	}
	return out
}

func at(xs []float64, i int) *float64 {
	if i >= len(xs) {
		return nil
	}
	v := xs[i]
	return &v
}

// indexWidth is the zero-padded width of bin numbers below limit, at least
// two digits, so that labels sort in bin order as strings. It derives from
// the configured limit, not the bins of the moment, so a label stays the
// same while the reference keeps its edges.
func indexWidth(limit int) int {
	return max(2, len(strconv.Itoa(limit-1)))
}

// numericBin labels bin i of the edges: (−∞, e1), [e1, e2), …, [ek, +∞),
// as the drift query bins.
func numericBin(i int, edges []float64, bins int) report.Bin {
	b := report.Bin{}
	lower, upper := "(-inf", "+inf)"
	if i > 0 && i-1 < len(edges) {
		v := edges[i-1]
		b.Lower = &v
		lower = "[" + formatEdge(v)
	}
	if i < len(edges) {
		v := edges[i]
		b.Upper = &v
		upper = formatEdge(v) + ")"
	}
	b.Label = fmt.Sprintf("%0*d: %s, %s", indexWidth(bins), i, lower, upper)
	return b
}

// formatEdge writes an edge to 4 significant digits: a label is for
// reading (the bin number keeps labels of close edges apart), and the
// report carries the exact edges.
func formatEdge(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// categoryBin labels bin i: one of the reference's top categories, in the
// reference's order, or the last bin, every other value.
func categoryBin(i int, categories []string, maxCategories int) report.Bin {
	if i >= len(categories) {
		return report.Bin{Label: otherBin, Other: true}
	}
	return report.Bin{Label: fmt.Sprintf("%0*d: %s", indexWidth(maxCategories+1), i, categories[i]), Category: categories[i]}
}

// recorded holds the distributions of one scrape per model, for the report
// pages; models are collected in parallel.
type recorded struct {
	mu    sync.Mutex
	dists map[string][]report.Distribution
}

func (r *recorded) add(model string, d report.Distribution) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dists == nil {
		r.dists = map[string][]report.Distribution{}
	}
	r.dists[model] = append(r.dists[model], d)
}

// Distributions returns the binned distributions the scrape computed, per
// model, whatever export_bins says: the report pages draw them. Call it
// after the scrape's Collect has returned.
func (s *Scrape) Distributions() map[string][]report.Distribution {
	s.recorded.mu.Lock()
	defer s.recorded.mu.Unlock()
	return s.recorded.dists
}
