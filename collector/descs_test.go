package collector

import (
	"slices"
	"strings"
	"testing"
)

// Every exposable family must be listed once, named from its desc, so rule
// and dashboard checks compare against the real names.
func TestMetricNames(t *testing.T) {
	names := MetricNames()
	if len(names) != len(allDescs()) {
		t.Fatalf("%d names for %d descs", len(names), len(allDescs()))
	}
	for i, n := range names {
		if !strings.HasPrefix(n, "mlmon_") || strings.ContainsAny(n, `"{} `) {
			t.Errorf("malformed name %q", n)
		}
		if i > 0 && names[i-1] == n {
			t.Errorf("duplicate %q", n)
		}
	}
	for _, n := range []string{"mlmon_clickhouse_up", "mlmon_feature_psi_critical_value", "mlmon_query_errors_total"} {
		if !slices.Contains(names, n) {
			t.Errorf("%s missing", n)
		}
	}
}
