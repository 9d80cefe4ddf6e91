package dashboards

import "github.com/grafana-tools/sdk"

// exporter answers "is mlmon itself healthy, and what does it cost?": the
// exporter's scrapes, its ClickHouse queries and its process.
func exporter() (Dashboard, error) {
	b := newBoard(UIDExporter, "mlmon / Exporter")

	b.row("Health")
	b.add(
		panel{
			title: "ClickHouse", kind: stat, unit: "none", width: 6, height: 5,
			description: "Whether the exporters reached ClickHouse on their last scrape (the worst of them).",
			queries:     []query{{expr: "min(mlmon_clickhouse_up)"}},
			mappings:    upDown, thresholds: lowIsBad(1),
			links: []sdk.Link{runbook("MLMonClickHouseDown")},
		},
		panel{
			title: "Targets", kind: stat, unit: "none", width: 6, height: 5, textMode: "value_and_name",
			description: "Whether Prometheus can scrape each mlmon exporter.",
			queries:     []query{{expr: upMLMon, legend: "{{instance}}"}},
			mappings:    upDown, thresholds: lowIsBad(1),
			links: []sdk.Link{runbook("MLMonExporterDown")},
		},
		panel{
			title: "Build", kind: table, unit: "none", width: 12, height: 5,
			description: "Version of each exporter and of the rules bundle it was built with; it should match the rules Prometheus loaded.",
			queries:     []query{{expr: "max by (instance, version, revision, goversion, rules_version) (mlmon_build_info)"}},
			transformations: []transformation{organize([]string{"Time", "Value"}, map[string]string{},
				[]string{"instance", "version", "revision", "goversion", "rules_version"})},
			links: []sdk.Link{runbook("MLMonRulesVersionMismatch")},
		},
	)

	b.row("Scrapes")
	b.add(
		panel{
			title: "Scrape duration by model", kind: timeseries, unit: "s", width: 8, min: ptr(0.0),
			description: "Time to collect each model's metrics. Models are collected in parallel; the scrape takes as long as the slowest and must stay under Prometheus's scrape timeout.",
			queries:     []query{{expr: "max by (model) (mlmon_scrape_duration_seconds)", legend: "{{model}}"}},
		},
		panel{
			title: "Scrape success by model", kind: timeseries, unit: "none", width: 8, min: ptr(0.0), max: ptr(1.0),
			description: "1 when every query of the model succeeded on the scrape.",
			queries:     []query{{expr: "min by (model) (mlmon_scrape_success)", legend: "{{model}}"}},
			thresholds:  lowIsBad(1),
			links:       []sdk.Link{runbook("MLMonModelScrapeFailing")},
		},
		panel{
			title: "Query errors by query", kind: timeseries, unit: "cps", width: 8, min: ptr(0.0),
			description: "Failed ClickHouse queries per second, by model and query (operations, performance, performance_reference, reference, drift).",
			queries:     []query{{expr: "sum by (model, query) (rate(mlmon_query_errors_total[$__rate_interval]))", legend: "{{model}} {{query}}"}},
			links:       []sdk.Link{runbook("MLMonQueryErrors")},
		},
	)

	b.row("ClickHouse cost")
	b.add(
		panel{
			title: "Queries per second", kind: timeseries, unit: "reqps", width: 6, min: ptr(0.0),
			description: "ClickHouse queries the exporter runs for each model.",
			queries:     []query{{expr: "sum by (model) (rate(mlmon_clickhouse_queries_total[$__rate_interval]))", legend: "{{model}}"}},
		},
		panel{
			title: "Rows read per second", kind: timeseries, unit: "short", width: 6, min: ptr(0.0),
			description: "Rows ClickHouse reads for each model's queries: what monitoring costs the database.",
			queries:     []query{{expr: "sum by (model) (rate(mlmon_clickhouse_read_rows_total[$__rate_interval]))", legend: "{{model}}"}},
		},
		panel{
			title: "Bytes read per second", kind: timeseries, unit: "Bps", width: 6, min: ptr(0.0),
			description: "Bytes ClickHouse reads for each model's queries.",
			queries:     []query{{expr: "sum by (model) (rate(mlmon_clickhouse_read_bytes_total[$__rate_interval]))", legend: "{{model}}"}},
		},
		panel{
			title: "Query time per second", kind: timeseries, unit: "s", width: 6, min: ptr(0.0),
			description: "Seconds of ClickHouse query time spent per second for each model (0.5 = half a query running all the time).",
			queries:     []query{{expr: "sum by (model) (rate(mlmon_clickhouse_query_seconds_total[$__rate_interval]))", legend: "{{model}}"}},
		},
	)

	b.row("Reference cache and sampling")
	b.add(
		panel{
			title: "Reference rows cached", kind: timeseries, unit: "short", min: ptr(0.0),
			description: "Rows of each model's reference window. The exporter computes reference statistics once and caches them; this is how many rows they summarise.",
			queries:     []query{{expr: `max by (model) (mlmon_predictions{window="reference"})`, legend: "{{model}}"}},
		},
		panel{
			title: "Sample ratio", kind: timeseries, unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			description: "Share of predictions the drift and performance queries read (1 = all rows); sampling bounds the cost of large models.",
			queries:     []query{{expr: "max by (model) (mlmon_sample_ratio)", legend: "{{model}}"}},
		},
	)

	b.row("Process")
	b.add(
		panel{
			title: "Resident memory", kind: timeseries, unit: "bytes", width: 8, min: ptr(0.0),
			description: "Resident memory of each exporter process.",
			queries:     []query{{expr: "process_resident_memory_bytes" + ofExporter, legend: "{{instance}}"}},
		},
		panel{
			title: "CPU", kind: timeseries, unit: "percentunit", width: 8, min: ptr(0.0),
			description: "CPU time of each exporter process (100% = one core).",
			queries:     []query{{expr: "rate(process_cpu_seconds_total[$__rate_interval])" + ofExporter, legend: "{{instance}}"}},
		},
		panel{
			title: "Goroutines", kind: timeseries, unit: "short", width: 8, min: ptr(0.0),
			description: "Goroutines of each exporter process; steady growth means scrapes pile up behind slow queries.",
			queries:     []query{{expr: "go_goroutines" + ofExporter, legend: "{{instance}}"}},
		},
	)
	return b.done()
}
