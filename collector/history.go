package collector

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

// History: scrapes of past times (mlmontool backfill). A scrape derives every
// window from its clock, so a scrape whose clock is set to a past time
// computes what a scrape at that time computed; what differs is the
// reference cache, which a live exporter refreshes by wall-clock age.

// NewHistoryTarget is NewTarget for scrapes at arbitrary past times, any
// number of them at once: each reference value is cached per reference
// window and never refreshed, so a fixed range (or a reference table) is
// computed once for the whole history, and a rolling reference once per
// position — always the window of the scrape's own clock, never a stale
// neighbour's. Close its References when done.
func NewHistoryTarget(cfg *config.Config, client *chquery.Client) *Target {
	t := NewTarget(cfg, client)
	t.References.history = true
	return t
}

// entry is the cache key and maximum age of a model's reference value over
// w. A live exporter keys by model and refreshes by age; history keys a
// rolling reference by its window too and never refreshes.
func (r *References) entry(m *config.Model, w *chquery.Window, maxAge time.Duration) (string, time.Duration) {
	if !r.history {
		return m.Name, maxAge
	}
	if w != nil && m.Reference.Kind == config.ReferenceRolling {
		return fmt.Sprintf("%s@%d-%d", m.Name, w.From.Unix(), w.To.Unix()), 0
	}
	return m.Name, 0
}

// historyDescs are the exporter-level families that describe the models
// rather than the exporter, so they belong in a backfilled history: the
// model's info, its thresholds (which the rules read), its sample ratio and
// its pre-aggregation interval.
var historyDescs = []*prometheus.Desc{modelInfoDesc, thresholdDesc, sampleRatioDesc, preaggregatedIntervalDesc}

// HistoryMetricNames lists the metric families a backfill writes: every
// model family's, plus those of historyDescs. The exporter's own health
// (build info, ClickHouse reachability, scrape success and duration, query
// errors, skipped collections, query cost counters, reload status) describes
// a process that did not run at those times, and is left out.
func HistoryMetricNames() []string {
	var names []string
	for _, d := range historyDescs {
		names = append(names, descName(d))
	}
	for _, f := range families {
		for _, d := range f.descs {
			names = append(names, descName(d))
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// ScrapeSuccessMetric is the family whose value 0 marks a model whose
// collection failed in a scrape.
var ScrapeSuccessMetric = descName(scrapeSuccessDesc)
