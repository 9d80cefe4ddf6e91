package dashboards

import (
	"github.com/grafana-tools/sdk"

	"github.com/mlmon/mlmon/rules"
)

// overview answers "is any model in trouble, and which?" across all models:
// each series is a model and links to that model's dashboard.
func overview() (Dashboard, error) {
	b := newBoard(UIDOverview, "mlmon / Overview")
	toFeatures := dataLink{Title: "Feature drift of ${__field.labels.model}", URL: boardURL(UIDFeatures, "&var-model=${__field.labels.model}")}

	b.row("Health")
	b.add(
		panel{
			title: "ClickHouse reachable", kind: stat, unit: "none", width: 6, height: 5,
			description: "Whether the exporters reached ClickHouse on their last scrape (the worst of them). Down means no quality, drift or freshness metric is computed.",
			queries:     []query{{expr: "min(mlmon_clickhouse_up)"}},
			mappings:    upDown, thresholds: lowIsBad(1),
			links: []sdk.Link{runbook("MLMonClickHouseDown")},
		},
		panel{
			title: "Exporter targets up", kind: stat, unit: "percentunit", width: 6, height: 5,
			description: "Share of mlmon scrape targets Prometheus can scrape.",
			queries:     []query{{expr: "sum(" + upMLMon + ") / count(" + upMLMon + ")"}},
			thresholds:  lowIsBad(1),
			links:       []sdk.Link{runbook("MLMonExporterDown")},
		},
		panel{
			title: "Models scraped", kind: stat, unit: "none", width: 12, height: 5, textMode: "value_and_name",
			description: "Whether every ClickHouse query of each model succeeded on the last scrape. A failing model's metrics are missing, and alerts that read them cannot fire.",
			queries:     []query{{expr: "min by (model) (mlmon_scrape_success)", legend: "{{model}}"}},
			mappings:    okFailing, thresholds: lowIsBad(1), dataLinks: []dataLink{toModel},
			links: []sdk.Link{runbook("MLMonModelScrapeFailing")},
		},
	)

	b.row("Alerts")
	b.add(
		panel{
			title: "Firing mlmon alerts", kind: stat, unit: "short", width: 6, height: 6,
			description: "mlmon alerts firing now, all tiers (info-tier alerts notify nobody: they are visible here and in Alertmanager).",
			queries:     []query{{expr: "count(" + firing() + ") or vector(0)"}},
			thresholds:  highIsBad(1),
		},
		panel{
			title: "Firing alerts by model", kind: table, unit: "short", width: 18, height: 6,
			description: "Which alerts fire for which model. A single 0 row means nothing fires.",
			queries:     []query{{expr: "count by (model, alertname, severity) (" + firing() + ") or on () vector(0)"}},
			transformations: []transformation{organize([]string{"Time"}, map[string]string{"Value": "Series firing"},
				[]string{"model", "alertname", "severity", "Value"})},
		},
	)

	b.row("Volume")
	b.add(
		panel{
			title: "Predictions in the current window", kind: timeseries, unit: "short",
			description: "Rows logged per model in the current (drift) window. A drop to zero means the model stopped serving or logging.",
			queries:     []query{{expr: `max by (model) (mlmon_predictions{window="current"})`, legend: "{{model}}"}},
			dataLinks:   []dataLink{toModel},
		},
		panel{
			title: "Prediction rate", kind: timeseries, unit: "reqps",
			description: "Predictions per second, averaged over the current window.",
			queries:     []query{{expr: "max by (model) (mlmon_prediction_rate)", legend: "{{model}}"}},
			dataLinks:   []dataLink{toModel},
		},
	)

	b.row("Quality")
	b.add(
		panel{
			title: "Accuracy", kind: timeseries, unit: "percentunit", width: 8, min: ptr(0.0), max: ptr(1.0),
			description: "Accuracy of labeled predictions over each classifier's performance window.",
			queries:     []query{{expr: `max by (model) (mlmon_accuracy_ratio{window="current"})`, legend: "{{model}}"}},
			dataLinks:   []dataLink{toModel},
		},
		panel{
			title: "Macro F1", kind: timeseries, unit: "percentunit", width: 8, min: ptr(0.0), max: ptr(1.0),
			description: "F1 score averaged over classes with equal weight: falls when a rare class is missed, which accuracy hides.",
			queries:     []query{{expr: `max by (model) (mlmon_f1_score{window="current", average="macro"})`, legend: "{{model}}"}},
			dataLinks:   []dataLink{toModel},
		},
		panel{
			title: "Accuracy drop vs reference", kind: timeseries, unit: "percentunit", width: 8,
			description: "Reference accuracy minus current accuracy (positive: worse). The critical alert fires above the threshold (dashed: the default).",
			queries:     []query{{expr: "max by (model) (" + rules.AccuracyDrop + ")", legend: "{{model}}"}},
			thresholds:  highIsBad(ruleDefault("accuracy_drop_max")), thresholdLine: true,
			dataLinks: []dataLink{toModel}, links: []sdk.Link{runbook("MLMonAccuracyDrop")},
		},
		panel{
			title: "Regression error (MAE, RMSE)", kind: timeseries, unit: "short",
			description: "Mean absolute and root mean squared error of regression models, in the unit of the prediction.",
			queries: []query{
				{expr: `max by (model) (mlmon_mae{window="current"})`, legend: "{{model}} MAE"},
				{expr: `max by (model) (mlmon_rmse{window="current"})`, legend: "{{model}} RMSE"},
			},
			dataLinks: []dataLink{toModel},
		},
		panel{
			title: "Label coverage", kind: timeseries, unit: "percentunit", min: ptr(0.0), max: ptr(1.0),
			description: "Share of the performance window's predictions that have ground truth. Low coverage makes the quality panels unreliable.",
			queries:     []query{{expr: "max by (model) (mlmon_label_coverage_ratio)", legend: "{{model}}"}},
			thresholds:  lowIsBad(ruleDefault("label_coverage_min")), thresholdLine: true,
			dataLinks: []dataLink{toModel}, links: []sdk.Link{runbook("MLMonLabelCoverageLow")},
		},
	)

	b.row("Drift")
	b.add(
		panel{
			title: "Drifted features", kind: timeseries, unit: "short", min: ptr(0.0),
			description: "Features per model whose PSI is above both psi_max and the critical value of the window sizes. Yellow: one feature (info alert); red: the multi-feature alert's default.",
			queries:     []query{{expr: "max by (model) (" + rules.DriftedFeatures + ")", legend: "{{model}}"}},
			thresholds:  highIsBadWarn(1, ruleDefault("drifted_features_min")), thresholdLine: true,
			dataLinks: []dataLink{toFeatures}, links: []sdk.Link{runbook("MLMonFeatureDriftMultiple")},
		},
		panel{
			title: "Prediction drift (PSI)", kind: timeseries, unit: "short", min: ptr(0.0),
			description: "PSI of each model's output, current window against the reference.",
			queries:     []query{{expr: "max by (model) (mlmon_prediction_psi)", legend: "{{model}}"}},
			thresholds:  highIsBad(ruleDefault("prediction_psi_max")), thresholdLine: true,
			dataLinks: []dataLink{toModel}, links: []sdk.Link{runbook("MLMonPredictionDrift")},
		},
	)

	b.row("Freshness")
	b.add(
		panel{
			title: "Age of the newest prediction", kind: timeseries, unit: "s",
			description: "Time since each model's newest logged prediction.",
			queries:     []query{{expr: "time() - max by (model) (mlmon_last_prediction_timestamp_seconds)", legend: "{{model}}"}},
			thresholds:  highIsBad(ruleDefault("prediction_staleness_max_seconds")), thresholdLine: true,
			dataLinks: []dataLink{toModel}, links: []sdk.Link{runbook("MLMonPredictionsStale")},
		},
		panel{
			title: "Age of the newest label", kind: timeseries, unit: "s",
			description: "Time since the newest ground-truth label joined to a prediction arrived: how late labels are.",
			queries:     []query{{expr: "time() - max by (model) (mlmon_last_label_timestamp_seconds)", legend: "{{model}}"}},
			thresholds:  highIsBad(ruleDefault("label_staleness_max_seconds")), thresholdLine: true,
			dataLinks: []dataLink{toModel}, links: []sdk.Link{runbook("MLMonLabelsStale")},
		},
	)
	return b.done()
}
