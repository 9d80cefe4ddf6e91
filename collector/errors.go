package collector

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/config"
)

// ErrorCounter holds mlmon_query_errors_total across scrapes: the one piece
// of state a stateless exporter keeps, because a counter must not reset.
type ErrorCounter struct {
	mu     sync.Mutex
	counts map[[2]string]float64
}

// NewErrorCounter returns an empty counter set.
func NewErrorCounter() *ErrorCounter {
	return &ErrorCounter{counts: map[[2]string]float64{}}
}

// init makes every (model, query) series exist from the first scrape on, so
// that rate() and increase() see the first failure.
func (e *ErrorCounter) init(model string, queries ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, q := range queries {
		if _, ok := e.counts[[2]string{model, q}]; !ok {
			e.counts[[2]string{model, q}] = 0
		}
	}
}

func (e *ErrorCounter) inc(model, query string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[[2]string{model, query}]++
}

// collect sends the counters of the configured models: a model removed by
// a reload stops being reported instead of lingering forever.
func (e *ErrorCounter) collect(ch chan<- prometheus.Metric, models []config.Model) {
	configured := make(map[string]bool, len(models))
	for _, m := range models {
		configured[m.Name] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, v := range e.counts {
		if configured[k[0]] {
			ch <- prometheus.MustNewConstMetric(queryErrorsDesc, prometheus.CounterValue, v, k[0], k[1])
		}
	}
}

// queryNames lists the queries a model's scrape runs, for the counter's
// initial zeros.
func queryNames(m *config.Model) []string {
	names := []string{queryOperations}
	if m.Reference != nil {
		names = append(names, queryReference, queryDrift)
	}
	if m.GroundTruth != nil {
		names = append(names, queryPerformance)
		if m.Reference != nil && m.Reference.Kind != config.ReferenceTable {
			names = append(names, queryPerformanceReference)
		}
	}
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
