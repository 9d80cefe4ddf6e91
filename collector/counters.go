package collector

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

// Counters holds what must accumulate across scrapes — query errors and what
// monitoring costs ClickHouse — the one state a stateless exporter keeps,
// because a counter must not reset. It outlives reloads.
type Counters struct {
	mu      sync.Mutex
	errors  map[[2]string]float64 // model, query
	skipped map[[2]string]float64 // model, reason
	cost    map[string]*modelCost
}

// Reasons a model's collection is skipped (the reason label of
// mlmon_skipped_collections_total).
const (
	// Queries of an earlier scrape of the model still run in ClickHouse.
	skipQueriesRunning = "queries_still_running"
)

var skipReasons = []string{skipQueriesRunning}

type modelCost struct {
	queries, rows, bytes, seconds float64
	// cpu is exposed only once a server has reported it: before 21.12
	// ClickHouse sends no profile events, and a 0 would read as free.
	cpu         float64
	cpuReported bool
}

// NewCounters returns empty counters.
func NewCounters() *Counters {
	return &Counters{errors: map[[2]string]float64{}, skipped: map[[2]string]float64{}, cost: map[string]*modelCost{}}
}

// init makes every (model, query) error series exist from the first scrape
// on, so that rate() and increase() see the first failure.
func (c *Counters) init(model string, queries ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range queries {
		if _, ok := c.errors[[2]string{model, q}]; !ok {
			c.errors[[2]string{model, q}] = 0
		}
	}
	for _, r := range skipReasons {
		if _, ok := c.skipped[[2]string{model, r}]; !ok {
			c.skipped[[2]string{model, r}] = 0
		}
	}
	if c.cost[model] == nil {
		c.cost[model] = &modelCost{}
	}
}

func (c *Counters) skip(model, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skipped[[2]string{model, reason}]++
}

func (c *Counters) inc(model, query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors[[2]string{model, query}]++
}

// Observe is a chquery.Observer that accumulates each model's query cost.
func (c *Counters) Observe(model, _ string, cost chquery.Cost, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mc := c.cost[model]
	if mc == nil {
		mc = &modelCost{}
		c.cost[model] = mc
	}
	mc.queries++
	mc.rows += float64(cost.Rows)
	mc.bytes += float64(cost.Bytes)
	mc.seconds += cost.Duration.Seconds()
	if cost.CPUReported {
		mc.cpu += cost.CPU.Seconds()
		mc.cpuReported = true
	}
}

// collect sends the counters of the configured models: a model removed by
// a reload stops being reported instead of lingering forever.
func (c *Counters) collect(ch chan<- prometheus.Metric, models []config.Model) {
	configured := make(map[string]bool, len(models))
	for _, m := range models {
		configured[m.Name] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.errors {
		if configured[k[0]] {
			ch <- prometheus.MustNewConstMetric(queryErrorsDesc, prometheus.CounterValue, v, k[0], k[1])
		}
	}
	for k, v := range c.skipped {
		if configured[k[0]] {
			ch <- prometheus.MustNewConstMetric(skippedDesc, prometheus.CounterValue, v, k[0], k[1])
		}
	}
	for model, mc := range c.cost {
		if !configured[model] {
			continue
		}
		ch <- prometheus.MustNewConstMetric(queriesDesc, prometheus.CounterValue, mc.queries, model)
		ch <- prometheus.MustNewConstMetric(readRowsDesc, prometheus.CounterValue, mc.rows, model)
		ch <- prometheus.MustNewConstMetric(readBytesDesc, prometheus.CounterValue, mc.bytes, model)
		ch <- prometheus.MustNewConstMetric(querySecondsDesc, prometheus.CounterValue, mc.seconds, model)
		if mc.cpuReported {
			ch <- prometheus.MustNewConstMetric(cpuSecondsDesc, prometheus.CounterValue, mc.cpu, model)
		}
	}
}
