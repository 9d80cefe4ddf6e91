package collector

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "mlmon"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

// Label values of `window`.
const (
	windowCurrent   = "current"
	windowReference = "reference"
)

// Exporter and source health.
var (
	buildInfoDesc = desc("build_info", "mlmon build and the version of the rules bundle it was built with.",
		"version", "revision", "goversion", "rules_version")
	modelInfoDesc = desc("model_info", "Configured model, its task and the latest model version seen in the current window.",
		"model", "task", "version")
	clickhouseUpDesc           = desc("clickhouse_up", "Whether ClickHouse answered this scrape (1) or not (0).")
	scrapeSuccessDesc          = desc("scrape_success", "Whether every query of the model succeeded in this scrape.", "model")
	scrapeDurationDesc         = desc("scrape_duration_seconds", "Time spent collecting the model's metrics in this scrape.", "model")
	queryErrorsDesc            = desc("query_errors_total", "ClickHouse queries that failed, by model and query.", "model", "query")
	skippedDesc                = desc("skipped_collections_total", "Collections of a model skipped, by reason (queries_still_running: queries of an earlier scrape still run in ClickHouse).", "model", "reason")
	thresholdDesc              = desc("alert_threshold", "Alert threshold configured for the model; the generic rules read it.", "model", "threshold")
	sampleRatioDesc            = desc("sample_ratio", "Share of the model's predictions the drift and performance queries read (1 = all); their counts are of the sample.", "model")
	reloadSuccessfulDesc       = desc("config_last_reload_successful", "Whether the last configuration reload attempt was successful.")
	reloadSuccessTimestampDesc = desc("config_last_reload_success_timestamp_seconds", "Timestamp of the last successful configuration reload.")
	// Only for models whose current drift window is merged from a
	// pre-aggregation table: its numeric bins are estimates, and its window
	// edges are rounded to this interval.
	preaggregatedIntervalDesc = desc("preaggregated_interval_seconds", "Interval of the pre-aggregation table the current drift window is merged from (numeric bins estimated from t-digests).", "model")
)

// What monitoring costs ClickHouse, per model, from the queries' progress.
var (
	queriesDesc      = desc("clickhouse_queries_total", "ClickHouse queries run for the model.", "model")
	readRowsDesc     = desc("clickhouse_read_rows_total", "Rows ClickHouse read for the model's queries.", "model")
	readBytesDesc    = desc("clickhouse_read_bytes_total", "Bytes ClickHouse read for the model's queries.", "model")
	querySecondsDesc = desc("clickhouse_query_seconds_total", "Time spent in the model's ClickHouse queries.", "model")
	cpuSecondsDesc   = desc("clickhouse_cpu_seconds_total", "CPU time (user and system) ClickHouse spent on the model's queries, on every server they ran on; absent for servers that send no profile events (before 21.12).", "model")
)

// healthDescs are the exporter's own families: the scrape, its cost and
// the configuration. Each family of model metrics lists its own (family.go).
var healthDescs = []*prometheus.Desc{
	buildInfoDesc, modelInfoDesc, clickhouseUpDesc, scrapeSuccessDesc, scrapeDurationDesc, queryErrorsDesc, thresholdDesc,
	reloadSuccessfulDesc, reloadSuccessTimestampDesc, skippedDesc,
	queriesDesc, readRowsDesc, readBytesDesc, querySecondsDesc, cpuSecondsDesc, sampleRatioDesc, preaggregatedIntervalDesc,
}

// descName extracts the fully-qualified name; client_golang exposes it only
// through String().
func descName(d *prometheus.Desc) string {
	s := d.String()
	const prefix = `Desc{fqName: "`
	s = strings.TrimPrefix(s, prefix)
	return s[:strings.IndexByte(s, '"')]
}
