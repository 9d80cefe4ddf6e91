package dashboards

import (
	"github.com/grafana-tools/sdk"

	"github.com/mlmon/mlmon/rules"
)

// model answers "how is this model doing against its reference, and why?"
// for one model: performance, drift of outputs and labels, ground truth,
// operations.
func model() (Dashboard, error) {
	b := newBoard(UIDModel, "mlmon / Model", modelVar(), averageVar(), segmentVar())
	featureBoard := toBoard("Feature drift of $model", UIDFeatures, "&var-model=${model}")

	b.row("Summary")
	b.add(
		panel{
			title: "Task and version", kind: stat, unit: "none", width: 4, height: 4, textMode: "name",
			description: "The model's task and the newest model version seen in the current window.",
			queries:     []query{{expr: "max by (task, version) (mlmon_model_info{" + thisModel + "})", legend: "{{task}} {{version}}"}},
		},
		panel{
			title: "Accuracy", kind: stat, unit: "percentunit", width: 4, height: 4, demo: demoClassifiers,
			description: "Current accuracy over the performance window (classifiers).",
			queries:     []query{{expr: `max(mlmon_accuracy_ratio{` + thisModel + `, window="current"})`}},
		},
		panel{
			title: "Accuracy drop", kind: stat, unit: "percentunit", width: 4, height: 4, demo: demoClassifiers,
			description: "Reference minus current accuracy; red from the default threshold of the critical alert.",
			queries:     []query{{expr: "max(" + rules.AccuracyDrop + "{" + thisModel + "})"}},
			thresholds:  highIsBad(ruleDefault("accuracy_drop_max")),
			links:       []sdk.Link{runbook("MLMonAccuracyDrop")},
		},
		panel{
			title: "Prediction PSI", kind: stat, unit: "short", width: 4, height: 4,
			description: "Drift of the model's output, current window against the reference.",
			queries:     []query{{expr: "max(mlmon_prediction_psi{" + thisModel + "})"}},
			thresholds:  highIsBad(ruleDefault("prediction_psi_max")),
			links:       []sdk.Link{runbook("MLMonPredictionDrift")},
		},
		panel{
			title: "Drifted features", kind: stat, unit: "short", width: 4, height: 4,
			description: "Features drifting beyond psi_max and sampling noise; open Feature drift for which.",
			queries:     []query{{expr: "max(" + rules.DriftedFeatures + "{" + thisModel + "})"}},
			thresholds:  highIsBadWarn(1, ruleDefault("drifted_features_min")),
			links:       []sdk.Link{featureBoard, runbook("MLMonFeatureDriftMultiple")},
		},
		panel{
			title: "Firing alerts", kind: stat, unit: "short", width: 4, height: 4,
			description: "mlmon alerts firing now for this model.",
			queries:     []query{{expr: "count(" + firing(thisModel) + ") or vector(0)"}},
			thresholds:  highIsBad(1),
		},
	)

	b.row("Performance against the reference")
	b.add(
		panel{
			title: "Accuracy: current vs reference", kind: timeseries, unit: "percentunit", max: ptr(1.0), demo: demoClassifiers,
			description: "Accuracy over the performance window (current) and over the reference window. The gap is what the critical alert watches.",
			queries:     []query{{expr: "max by (window) (mlmon_accuracy_ratio{" + thisModel + "})", legend: "{{window}}"}},
			links:       []sdk.Link{runbook("MLMonAccuracyDrop")},
		},
		panel{
			title: "Accuracy: estimated vs realised", kind: timeseries, unit: "percentunit", max: ptr(1.0), demo: demoEstimated,
			description: "Estimated: the current window's accuracy from its scores alone, before any label (binary models with a score, multiclass models with scores:; calibrated on the reference's labelled rows, assuming P(label | score) has not changed). Realised: from the labels, over the performance window, which ends performance.delay before the scrape. The estimate's line covers only the time after the newest performance window's end (mlmon_labels_until_timestamp_seconds at the end of the range): before it, labels take over. Where the realised value, once labels arrive, parts from what the estimate said, the relation between score and outcome changed (concept drift) and the estimate is not to be trusted.",
			queries: []query{
				{expr: "max(mlmon_estimated_accuracy_ratio{" + thisModel + "}) and on () (vector(time()) > scalar(max(mlmon_labels_until_timestamp_seconds{" + thisModel + "} @ end())))",
					legend: "estimated (not yet labelled)"},
				{expr: `max(mlmon_accuracy_ratio{` + thisModel + `, window="current"})`, legend: "realised (performance window)"},
				{expr: `max(mlmon_accuracy_ratio{` + thisModel + `, window="reference"})`, legend: "reference"},
			},
			links: []sdk.Link{runbook("MLMonEstimatedAccuracyDrop")},
		},
		panel{
			title: "Accuracy drop (reference − current)", kind: timeseries, unit: "percentunit", demo: demoClassifiers,
			description: "Positive when the model got worse. The alert fires when the drop stays above the threshold (the model's configured accuracy_drop_max, else the default) for 30 minutes.",
			queries: []query{
				{expr: "max(" + rules.AccuracyDrop + "{" + thisModel + "})", legend: "accuracy drop"},
				modelThreshold("accuracy_drop_max"),
			},
			thresholds: highIsBad(ruleDefault("accuracy_drop_max")),
			links:      []sdk.Link{runbook("MLMonAccuracyDrop")},
		},
		panel{
			title: "Precision, recall and F1 ($average)", kind: timeseries, unit: "percentunit", max: ptr(1.0), demo: demoClassifiers,
			description: "Class metrics averaged as the Average variable says (macro: classes weigh equally; weighted: by support; micro: over all rows), current and reference.",
			queries: []query{
				{expr: `max by (window) (mlmon_precision_ratio{` + thisModel + `, average="$average"})`, legend: "precision ({{window}})"},
				{expr: `max by (window) (mlmon_recall_ratio{` + thisModel + `, average="$average"})`, legend: "recall ({{window}})"},
				{expr: `max by (window) (mlmon_f1_score{` + thisModel + `, average="$average"})`, legend: "F1 ({{window}})"},
			},
			links: []sdk.Link{runbook("MLMonF1BelowMinimum")},
		},
		panel{
			title: "Per-class precision, recall and F1", kind: table, unit: "percentunit", demo: demoClassifiers,
			description: "Each class over the performance window (the top classes; rare ones fold into __other__). A class whose metric is undefined has an empty cell.",
			queries: []query{
				{expr: "max by (class) (mlmon_class_precision_ratio{" + thisModel + "})"},
				{expr: "max by (class) (mlmon_class_recall_ratio{" + thisModel + "})"},
				{expr: "max by (class) (mlmon_class_f1_score{" + thisModel + "})"},
			},
			transformations: []transformation{merge(), organize([]string{"Time"},
				map[string]string{"Value #A": "Precision", "Value #B": "Recall", "Value #C": "F1"},
				[]string{"class", "Value #A", "Value #B", "Value #C"})},
			sortBy: "F1",
		},
		panel{
			title: "Confusion matrix", kind: table, unit: "short", demo: demoClassifiers,
			description:     "Labeled predictions of the performance window: rows are the actual class, columns the predicted class.",
			queries:         []query{{expr: "max by (actual, predicted) (mlmon_confusion_matrix{" + thisModel + "})"}},
			transformations: []transformation{matrix("actual", "predicted")},
		},
		panel{
			title: "ROC AUC, log loss and Brier score", kind: timeseries, unit: "short", demo: demoScored,
			description: "Quality of the score of binary models, current and reference: ROC AUC (higher is better), log loss and Brier score (lower is better).",
			queries: []query{
				{expr: "max by (window) (mlmon_roc_auc{" + thisModel + "})", legend: "ROC AUC ({{window}})"},
				{expr: "max by (window) (mlmon_log_loss{" + thisModel + "})", legend: "log loss ({{window}})"},
				{expr: "max by (window) (mlmon_brier_score{" + thisModel + "})", legend: "Brier ({{window}})"},
			},
		},
		panel{
			title: "MAE and RMSE", kind: timeseries, unit: "short", width: 12, demo: demoRegression,
			description: "Regression errors in the unit of the prediction, current and reference. RMSE well above MAE means a few large errors.",
			queries: []query{
				{expr: "max by (window) (mlmon_mae{" + thisModel + "})", legend: "MAE ({{window}})"},
				{expr: "max by (window) (mlmon_rmse{" + thisModel + "})", legend: "RMSE ({{window}})"},
			},
		},
		panel{
			title: "MAPE", kind: timeseries, unit: "percentunit", width: 6, demo: demoRegression,
			description: "Mean absolute percentage error (rows whose label is 0 left out).",
			queries:     []query{{expr: "max by (window) (mlmon_mape_ratio{" + thisModel + "})", legend: "{{window}}"}},
		},
		panel{
			title: "R²", kind: timeseries, unit: "short", width: 6, max: ptr(1.0), demo: demoRegression,
			description: "Coefficient of determination: 1 is perfect, 0 no better than predicting the mean.",
			queries:     []query{{expr: "max by (window) (mlmon_r2{" + thisModel + "})", legend: "{{window}}"}},
		},
	)

	b.row("Drift")
	b.add(
		panel{
			title: "Prediction drift", kind: timeseries, unit: "short", width: 8, min: ptr(0.0),
			description: "How far the model's output distribution moved from the reference: PSI and Jensen-Shannon divergence (log2, 0..1).",
			queries: []query{
				{expr: "max(mlmon_prediction_psi{" + thisModel + "})", legend: "PSI"},
				{expr: "max(mlmon_prediction_js_divergence{" + thisModel + "})", legend: "JS divergence"},
				modelThreshold("prediction_psi_max"),
			},
			thresholds: highIsBad(ruleDefault("prediction_psi_max")),
			links:      []sdk.Link{runbook("MLMonPredictionDrift")},
		},
		panel{
			title: "Label drift", kind: timeseries, unit: "short", width: 8, min: ptr(0.0), demo: demoClassifiers,
			description: "How far the distribution of ground truth moved (performance window against the reference): the world changed, not only the inputs.",
			queries: []query{
				{expr: "max(mlmon_label_psi{" + thisModel + "})", legend: "PSI"},
				{expr: "max(mlmon_label_js_divergence{" + thisModel + "})", legend: "JS divergence"},
				modelThreshold("label_psi_max"),
			},
			thresholds: highIsBad(ruleDefault("label_psi_max")),
			links:      []sdk.Link{runbook("MLMonLabelDrift")},
		},
		panel{
			title: "Drifted features", kind: timeseries, unit: "short", width: 8, min: ptr(0.0),
			description: "Features drifting beyond psi_max and the critical value of the window sizes; the multi-feature alert fires at its threshold.",
			queries: []query{
				{expr: "max(" + rules.DriftedFeatures + "{" + thisModel + "})", legend: "drifted features"},
				modelThreshold("drifted_features_min"),
			},
			thresholds: highIsBadWarn(1, ruleDefault("drifted_features_min")),
			links:      []sdk.Link{featureBoard, runbook("MLMonFeatureDriftMultiple")},
		},
	)

	b.row("Ground truth")
	b.add(
		panel{
			title: "Label coverage", kind: timeseries, unit: "percentunit", width: 8, min: ptr(0.0), max: ptr(1.0),
			description: "Share of the performance window's predictions that have a label.",
			queries: []query{
				{expr: "max(mlmon_label_coverage_ratio{" + thisModel + "})", legend: "coverage"},
				modelThreshold("label_coverage_min"),
			},
			thresholds: lowIsBad(ruleDefault("label_coverage_min")),
			links:      []sdk.Link{runbook("MLMonLabelCoverageLow")},
		},
		panel{
			title: "Labeled predictions", kind: timeseries, unit: "short", width: 8, min: ptr(0.0),
			description: "Predictions of the performance window joined to a label: the sample size behind every performance metric (alerts need 100).",
			queries:     []query{{expr: "max(mlmon_labeled_predictions{" + thisModel + "})", legend: "labeled"}},
		},
		panel{
			title: "Label delay", kind: timeseries, unit: "s", width: 8, min: ptr(0.0),
			description: "Age of the newest label joined to the performance window, next to the age of the newest prediction: how far ground truth lags behind serving.",
			queries: []query{
				{expr: "time() - max(mlmon_last_label_timestamp_seconds{" + thisModel + "})", legend: "newest label"},
				{expr: "time() - max(mlmon_last_prediction_timestamp_seconds{" + thisModel + "})", legend: "newest prediction"},
			},
			links: []sdk.Link{runbook("MLMonLabelsStale"), runbook("MLMonPredictionsStale")},
		},
	)

	b.row("Operations")
	b.add(
		panel{
			title: "Prediction latency", kind: timeseries, unit: "s", width: 6, min: ptr(0.0),
			description: "Latency quantiles over the current window, as logged with the predictions.",
			queries: []query{
				{expr: "max by (quantile) (mlmon_prediction_latency_seconds{" + thisModel + "})", legend: "p{{quantile}}"},
				modelThreshold("latency_p99_max_seconds"),
			},
			thresholds: highIsBad(ruleDefault("latency_p99_max_seconds")),
			links:      []sdk.Link{runbook("MLMonLatencyHigh")},
		},
		panel{
			title: "Error ratio", kind: timeseries, unit: "percentunit", width: 6, min: ptr(0.0),
			description: "Share of the current window's predictions flagged as errors.",
			queries: []query{
				{expr: "max(mlmon_prediction_error_ratio{" + thisModel + "})", legend: "errors"},
				modelThreshold("error_ratio_max"),
			},
			thresholds: highIsBad(ruleDefault("error_ratio_max")),
			links:      []sdk.Link{runbook("MLMonErrorRatioHigh")},
		},
		panel{
			title: "Prediction rate", kind: timeseries, unit: "reqps", width: 6, min: ptr(0.0),
			description: "Predictions per second over the current window.",
			queries:     []query{{expr: "max(mlmon_prediction_rate{" + thisModel + "})", legend: "rate"}},
		},
		panel{
			title: "Predictions per window", kind: timeseries, unit: "short", width: 6, min: ptr(0.0),
			description: "Rows in the current window and in the reference window: the sample sizes behind the drift metrics.",
			queries:     []query{{expr: "max by (window) (mlmon_predictions{" + thisModel + "})", legend: "{{window}}"}},
		},
	)
	segmentPanels(b)
	return b.done()
}
