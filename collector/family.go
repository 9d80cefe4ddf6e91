package collector

import (
	"context"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/config"
)

// family is one family of a model's metrics in one place, as
// mysqld_exporter's scrapers are: its name (the concern in the logs), the
// descriptors it emits (MetricNames, which rules and dashboards are checked
// against), the queries it may run for a model (the `query` label of
// mlmon_query_errors_total, exposed at 0 from the first scrape) and its
// collection. A new family is a file that declares one and a line in
// families.
type family struct {
	name    string
	descs   []*prometheus.Desc
	queries func(m *config.Model) []string
	collect func(ctx context.Context, m *model) error
	// independent families read nothing another family learned and start
	// at once; the others wait for every family listed before them.
	independent bool
}

// families run in this order for every model, so that a later one may use
// what an earlier one learned: the version (operations), the reference's
// labelled scores (performance) and the current window's scores (drift)
// that the estimate reads. The independent ones run concurrently.
var families = []family{
	operationsFamily,
	performanceFamily,
	driftFamily,
	binsFamily,
	estimateFamily,
	segmentsFamily,
}

// MetricNames lists the name of every metric family the exporter can expose,
// so rules and dashboards can be checked against it.
func MetricNames() []string {
	var names []string
	for _, d := range allDescs() {
		names = append(names, descName(d))
	}
	slices.Sort(names)
	return names
}

// allDescs are the exporter's own descriptors and every family's.
func allDescs() []*prometheus.Desc {
	descs := slices.Clone(healthDescs)
	for _, f := range families {
		descs = append(descs, f.descs...)
	}
	return descs
}

// queryNames lists the queries a model's scrape may run, for the error
// counter's initial zeros.
func queryNames(m *config.Model) []string {
	var names []string
	for _, f := range families {
		for _, q := range f.queries(m) {
			if !slices.Contains(names, q) {
				names = append(names, q)
			}
		}
	}
	return names
}

// samplingQuery is the sampling key's look-up, which the families that
// sample run first (model.sampling).
func samplingQuery(m *config.Model) []string {
	if m.Sample > 0 && m.Sample < 1 {
		return []string{querySamplingKey}
	}
	return nil
}
