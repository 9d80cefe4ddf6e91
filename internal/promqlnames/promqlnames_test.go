package promqlnames

import (
	"slices"
	"testing"
)

// The cases are those of the two scanners this package replaced (rules and
// dashboards tests), with the names each expression reads worked out by hand.
func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up{job=~"mlmon.*"} == 0`, []string{"up"}},
		{`increase(mlmon_query_errors_total[15m]) > 0`, []string{"mlmon_query_errors_total"}},
		{`count without (feature) (a:mlmon_x:count) or group without (feature) (mlmon_feature_psi) * 0`,
			[]string{"a:mlmon_x:count", "mlmon_feature_psi"}},
		{`(time() - mlmon_last_prediction_timestamp_seconds) > ignoring (threshold) group_left () mlmon_alert_threshold{threshold="x"}`,
			[]string{"mlmon_alert_threshold", "mlmon_last_prediction_timestamp_seconds"}},
		{`sum by (model, "odd") (rate(mlmon_a[5m] offset 1h)) / on (model) group_right (task) mlmon_b`,
			[]string{"mlmon_a", "mlmon_b"}},
		{`topk(3, mlmon_a{l="}"}) > bool mlmon_b # mlmon_comment`, []string{"mlmon_a", "mlmon_b"}},
		{`max(mlmon_a) without (feature) > 1e-3 unless mlmon_b != NaN`, []string{"mlmon_a", "mlmon_b"}},
		{`mlmon_feature_psi{model="$model", feature=~"$feature"}`, []string{"mlmon_feature_psi"}},
		{`max by (model) (model:mlmon_feature_drifted:count)`, []string{"model:mlmon_feature_drifted:count"}},
		{`count(ALERTS{alertname=~"MLMon.*", alertstate="firing"}) or on () vector(0)`, []string{"ALERTS"}},
		{`time() - max by (model) (mlmon_last_label_timestamp_seconds)`, []string{"mlmon_last_label_timestamp_seconds"}},
		{`process_resident_memory_bytes and on (job, instance) mlmon_build_info`, []string{"mlmon_build_info", "process_resident_memory_bytes"}},
		{`a > bool 0 or on (feature) 0 * b offset 5m`, []string{"a", "b"}},
		{`max(x{l="a{b}[c]"}) or vector(1e-3) * 0.5`, []string{"x"}},
		{`m1 / ignoring (window) group_left (task) m2`, []string{"m1", "m2"}},
		{`m1 + m1 offset 1h`, []string{"m1"}},
	} {
		got, err := MetricNames(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.expr, got, tc.want)
		}
	}
	for _, bad := range []string{
		`{__name__="mlmon_a"}`,      // no metric name to check
		`mlmon_a{l="x}`,             // unterminated string
		`mlmon_a[5m`,                // unclosed range
		`mlmon_a and bool mlmon_b`,  // bool only after a comparison
		`mlmon_a > 1e-3 unless NaN`, // set operators take vectors only
		`sum(`,
	} {
		if got, err := MetricNames(bad); err == nil {
			t.Errorf("%s: no error, got %v", bad, got)
		}
	}
}
