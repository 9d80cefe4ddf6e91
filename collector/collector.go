package collector

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/rules"
)

// Target is what a scrape reads: a configuration and the ClickHouse client
// built from it. A reload swaps the whole Target, so a scrape never sees a
// configuration paired with another configuration's connection.
type Target struct {
	Config     *config.Config
	Client     *chquery.Client
	References *References
	// withoutEstimate leaves the current window's score histograms out of
	// the drift pass, so that no estimate is made: BenchmarkScrapeEstimate
	// measures a scrape without the estimate beside one with it.
	withoutEstimate bool
}

// NewTarget pairs a configuration with its client and an empty reference
// cache.
func NewTarget(cfg *config.Config, client *chquery.Client) *Target {
	return &Target{Config: cfg, Client: client, References: NewReferences(client, cfg.ClickHouse.QueryTimeout)}
}

// Scrape collects one scrape of t. ctx bounds every query; now is the scrape
// time, from which every window is derived.
type Scrape struct {
	ctx      context.Context
	target   *Target
	now      time.Time
	counters *Counters
	logger   *slog.Logger
	recorded recorded // distributions for the report pages (bins.go)
	// joins are the performance joins models share, by model (sharedjoin.go).
	joins map[string]*sharedJoin
}

// NewScrape returns a collector for a single scrape; register it on a fresh
// registry per request (it is unchecked: its series depend on the data).
func NewScrape(ctx context.Context, t *Target, counters *Counters, logger *slog.Logger, now time.Time) *Scrape {
	now = now.Truncate(time.Second)
	return &Scrape{ctx: ctx, target: t, now: now, counters: counters, logger: logger, joins: sharedJoins(t.Config.Models, now)}
}

// Describe sends nothing, which makes the collector unchecked: the series a
// scrape yields depend on the models, classes and features in the data.
func (s *Scrape) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (s *Scrape) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(buildInfoDesc, prometheus.GaugeValue, 1,
		version.Version, version.Revision, version.GoVersion, rules.Version)

	cfg := s.target.Config
	for i := range cfg.Models {
		m := &cfg.Models[i]
		for _, name := range sortedKeys(m.Thresholds) {
			ch <- prometheus.MustNewConstMetric(thresholdDesc, prometheus.GaugeValue, m.Thresholds[name], m.Name, name)
		}
		s.counters.init(m.Name, queryNames(m)...)
	}

	up := 1.0
	if err := s.target.Client.Ping(s.ctx); err != nil {
		up = 0
		s.logger.Error("clickhouse unreachable", "err", err)
	}
	ch <- prometheus.MustNewConstMetric(clickhouseUpDesc, prometheus.GaugeValue, up)

	// Models are collected max_parallel_queries at a time. The client runs
	// no more queries at once anyway, and a model that has started holds
	// its results (a classification join's thousands of groups) until it
	// ends: started all at once, thirty models took the exporter's peak RSS
	// from 28 to 75 MiB (docs/benchmarks.md, "Many models").
	started := make(chan struct{}, max(1, cfg.ClickHouse.MaxParallelQueries))
	running := s.earlierQueries(cfg.Models)
	var wg sync.WaitGroup
	for i := range cfg.Models {
		m := &cfg.Models[i]
		if up == 0 {
			// No query can succeed: report every model as failed at once
			// instead of waiting for each to time out.
			ch <- prometheus.MustNewConstMetric(modelInfoDesc, prometheus.GaugeValue, 1, m.Name, string(m.Task), "")
			ch <- prometheus.MustNewConstMetric(scrapeSuccessDesc, prometheus.GaugeValue, 0, m.Name)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			defer func() { <-started }()
			s.collectModel(m, running[m.Name], ch)
		}()
	}
	wg.Wait()
	s.counters.collect(ch, cfg.Models)
}

// earlierQueries counts, by model, the queries of earlier scrapes that
// still run, before this scrape runs any: a model's own, and those of the
// join it shares, which runs as the first sharing model's query.
func (s *Scrape) earlierQueries(models []config.Model) map[string]int {
	running := map[string]int{}
	for i := range models {
		running[models[i].Name] += s.target.Client.Running(models[i].Name)
	}
	for name, j := range s.joins {
		if j.first.Name != name {
			running[name] += s.target.Client.Running(j.first.Name)
		}
	}
	return running
}

// model is the state one model's concerns share within a scrape.
type model struct {
	*config.Model
	scrape   *Scrape
	version  string // set by the operations concern
	out      emitter
	inputs   estimateInputs // set by the performance and drift concerns
	segments segmentInputs  // set by the performance and drift concerns
	bins     []columnBins   // set by the drift concern, read by the bins concern

	samplingOnce sync.Once
	samplingRes  chquery.Sampling
	samplingErr  error
}

// client is the ClickHouse client of the scrape's target.
func (m *model) client() *chquery.Client { return m.scrape.target.Client }

// references is the reference cache of the scrape's target.
func (m *model) references() *References { return m.scrape.target.References }

// now is the scrape time every window derives from.
func (m *model) now() time.Time { return m.scrape.now }

// sampling is how this model's heavy queries sample, looked up once per
// scrape (and cached by the client per table).
func (m *model) sampling(ctx context.Context) (chquery.Sampling, error) {
	m.samplingOnce.Do(func() {
		m.samplingErr = m.query(querySamplingKey, func() (err error) {
			m.samplingRes, err = m.client().Sampling(ctx, m.Model)
			return err
		})
	})
	return m.samplingRes, m.samplingErr
}

// collectModel collects m, unless running queries of an earlier scrape
// (counted before this one started any) still read for it.
func (s *Scrape) collectModel(m *config.Model, running int, ch chan<- prometheus.Metric) {
	start := time.Now()
	mm := &model{Model: m, scrape: s, out: emitter{ch: ch}}
	ok := true
	if running > 0 {
		// Queries of an earlier scrape still run (killed at their deadline,
		// ClickHouse stops them at the end of a block): starting more
		// would pile up on a ClickHouse that is already slow.
		ok = false
		s.counters.skip(m.Name, skipQueriesRunning)
		s.logger.Warn("collection skipped: queries of an earlier scrape still run", "model", m.Name, "queries", running)
	} else {
		ok = s.runConcerns(mm)
	}
	mm.out.gauge(modelInfoDesc, 1, m.Name, string(m.Task), mm.version)
	mm.out.gauge(sampleRatioDesc, m.Sample, m.Name)
	mm.out.gauge(scrapeSuccessDesc, boolFloat(ok), m.Name)
	mm.out.gauge(scrapeDurationDesc, time.Since(start).Seconds(), m.Name)
}

// runConcerns collects every concern of the model and reports whether all
// succeeded. Independent families start together, so one busy model's
// queries overlap where ClickHouse has idle cores (max_parallel_queries
// still bounds them); any other family waits for every family before it.
func (s *Scrape) runConcerns(mm *model) bool {
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		done   = make([]chan struct{}, len(families))
	)
	for i := range families {
		done[i] = make(chan struct{})
	}
	for i, f := range families {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			if !f.independent {
				for _, d := range done[:i] {
					<-d
				}
			}
			if err := s.runConcern(mm, f); err != nil {
				failed.Store(true)
			}
		}()
	}
	wg.Wait()
	return !failed.Load()
}

// runConcern collects one family and logs its failure.
func (s *Scrape) runConcern(mm *model, f family) error {
	m := mm.Model
	err := f.collect(s.ctx, mm)
	if errors.Is(err, errPending) {
		// A reference computation that outlasts this scrape is not a
		// failure: it serves the next one. Its metrics are absent now.
		s.logger.Debug("reference still being computed", "model", m.Name, "concern", f.name)
		return nil
	}
	if err != nil {
		s.logger.Error("collect failed", append([]any{"model", m.Name, "concern", f.name, "err", err}, s.placement(m)...)...)
	}
	return err
}

// placement names the cluster and local tables behind a model's
// Distributed tables, so that an error from one shard can be traced.
func (s *Scrape) placement(m *config.Model) []any {
	var attrs []any
	tables := []string{m.Predictions.Table}
	if m.GroundTruth != nil {
		tables = append(tables, m.GroundTruth.Table)
	}
	for _, t := range tables {
		if p := s.target.Client.Placement(t); p != "" {
			attrs = append(attrs, "distributed", p)
		}
	}
	return attrs
}

const querySamplingKey = "sampling_key"

// query runs fn and counts its failure under the query's name.
func (m *model) query(name string, fn func() error) error {
	err := fn()
	if err != nil && !errors.Is(err, errPending) {
		m.scrape.counters.inc(m.Name, name)
	}
	return err
}

// emitter sends gauges, leaving out undefined values: a NaN means the
// statistic has no meaning for this data and must not pose as a number.
type emitter struct {
	ch chan<- prometheus.Metric
}

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
