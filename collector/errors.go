package collector

import (
	"slices"

	"github.com/mlmon/mlmon/internal/config"
)

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
