package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

// countersCollector exposes Counters for testutil.
type countersCollector struct {
	c      *Counters
	models []config.Model
}

func (cc countersCollector) Describe(chan<- *prometheus.Desc) {}
func (cc countersCollector) Collect(ch chan<- prometheus.Metric) {
	cc.c.collect(ch, cc.models)
}

func TestCPUSecondsOnlyOnceReported(t *testing.T) {
	c := NewCounters()
	models := []config.Model{{Name: "old"}, {Name: "new"}}
	// A server before 21.12 reports no CPU: no series for it, rather than a 0.
	c.Observe("old", "drift_bins", chquery.Cost{Rows: 10, Bytes: 80, Duration: time.Second}, nil)
	c.Observe("new", "drift_bins", chquery.Cost{Rows: 10, Bytes: 80, Duration: time.Second, CPU: 1500 * time.Millisecond, CPUReported: true}, nil)
	c.Observe("new", "operations", chquery.Cost{Rows: 5, Bytes: 40, Duration: time.Second, CPU: 250 * time.Millisecond, CPUReported: true}, nil)

	want := `
# HELP mlmon_clickhouse_cpu_seconds_total CPU time (user and system) ClickHouse spent on the model's queries, on every server they ran on; absent for servers that send no profile events (before 21.12).
# TYPE mlmon_clickhouse_cpu_seconds_total counter
mlmon_clickhouse_cpu_seconds_total{model="new"} 1.75
# HELP mlmon_clickhouse_queries_total ClickHouse queries run for the model.
# TYPE mlmon_clickhouse_queries_total counter
mlmon_clickhouse_queries_total{model="new"} 2
mlmon_clickhouse_queries_total{model="old"} 1
`
	err := testutil.CollectAndCompare(countersCollector{c, models}, strings.NewReader(want),
		"mlmon_clickhouse_cpu_seconds_total", "mlmon_clickhouse_queries_total")
	if err != nil {
		t.Error(err)
	}
}
