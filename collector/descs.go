package collector

import (
	"slices"
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
)

// Volume, freshness, operations.
var (
	predictionsDesc    = desc("predictions", "Predictions logged in the window.", "model", "window")
	predictionRateDesc = desc("prediction_rate", "Predictions per second over the current window.", "model")
	lastPredictionDesc = desc("last_prediction_timestamp_seconds", "Event time of the newest prediction.", "model")
	lastLabelDesc      = desc("last_label_timestamp_seconds", "Arrival time of the newest label joined to a prediction of the performance window.", "model")
	labeledDesc        = desc("labeled_predictions", "Predictions of the performance window that have a label.", "model")
	labelCoverageDesc  = desc("label_coverage_ratio", "Share of the performance window's predictions that have a label.", "model")
	latencyDesc        = desc("prediction_latency_seconds", "Prediction latency quantiles over the current window.", "model", "quantile")
	errorRatioDesc     = desc("prediction_error_ratio", "Share of the current window's predictions flagged as errors.", "model")
)

// Performance.
var (
	accuracyDesc       = desc("accuracy_ratio", "Accuracy of labeled predictions.", "model", "window")
	precisionDesc      = desc("precision_ratio", "Precision averaged over classes (scikit-learn's definitions; undefined classes left out).", "model", "window", "average")
	recallDesc         = desc("recall_ratio", "Recall averaged over classes (scikit-learn's definitions; undefined classes left out).", "model", "window", "average")
	f1Desc             = desc("f1_score", "F1 score averaged over classes (scikit-learn's definitions; undefined classes left out).", "model", "window", "average")
	classPrecisionDesc = desc("class_precision_ratio", "Precision of one class over the performance window.", "model", "class")
	classRecallDesc    = desc("class_recall_ratio", "Recall of one class over the performance window.", "model", "class")
	classF1Desc        = desc("class_f1_score", "F1 score of one class over the performance window.", "model", "class")
	confusionDesc      = desc("confusion_matrix", "Labeled predictions by actual and predicted class over the performance window.", "model", "actual", "predicted")
	rocAUCDesc         = desc("roc_auc", "Area under the ROC curve of the score (binary models).", "model", "window")
	logLossDesc        = desc("log_loss", "Mean log loss of the score, probabilities clipped to [1e-15, 1-1e-15] (binary models).", "model", "window")
	brierDesc          = desc("brier_score", "Mean squared difference between score and outcome (binary models).", "model", "window")
	maeDesc            = desc("mae", "Mean absolute error (regression).", "model", "window")
	rmseDesc           = desc("rmse", "Root mean squared error (regression).", "model", "window")
	mapeDesc           = desc("mape_ratio", "Mean absolute percentage error over labels other than zero, as a ratio (regression).", "model", "window")
	r2Desc             = desc("r2", "Coefficient of determination (regression).", "model", "window")
)

// Label-free performance estimate (estimate.go): the current drift
// window's expected performance under the reference's calibration.
var (
	estimatedAccuracyDesc  = desc("estimated_accuracy_ratio", "Expected accuracy of the current window's predictions, estimated from their scores without labels.", "model")
	estimatedPrecisionDesc = desc("estimated_precision_ratio", "Expected precision averaged over classes, estimated from the current window's scores without labels.", "model", "average")
	estimatedRecallDesc    = desc("estimated_recall_ratio", "Expected recall averaged over classes, estimated from the current window's scores without labels.", "model", "average")
	estimatedF1Desc        = desc("estimated_f1_score", "Expected F1 score averaged over classes, estimated from the current window's scores without labels.", "model", "average")
	estimatedClassF1Desc   = desc("estimated_class_f1_score", "Expected F1 score of one class, estimated from the current window's scores without labels.", "model", "class")
	estimatedROCAUCDesc    = desc("estimated_roc_auc", "Expected ROC AUC of the current window's scores, each row a positive with its calibrated probability.", "model")
	calibrationErrorDesc   = desc("calibration_error", "Expected calibration error (10 equal-width bins) of the reference's labelled scores, raw or after isotonic calibration (cross-fitted).", "model", "stage")
	calibrationSamplesDesc = desc("calibration_samples", "Labelled reference rows with a score that the calibration of the label-free estimate rests on.", "model")
)

// Drift: current window against the reference.
var (
	featurePSIDesc         = desc("feature_psi", "Population stability index of the feature, current window against the reference.", "model", "feature")
	featureJSDesc          = desc("feature_js_divergence", "Jensen-Shannon divergence (log base 2, 0..1) of the feature, current against reference.", "model", "feature")
	featureKSDesc          = desc("feature_ks_statistic", "Kolmogorov-Smirnov statistic over the reference bin edges (a lower bound of the exact statistic).", "model", "feature")
	featureWassersteinDesc = desc("feature_wasserstein", "Wasserstein-1 distance between current and reference, in reference standard deviations.", "model", "feature")
	featureChi2PDesc       = desc("feature_chi2_p_value", "p-value of Pearson's chi-square test of homogeneity of the binned current and reference windows.", "model", "feature")
	featurePSICriticalDesc = desc("feature_psi_critical_value", "PSI that windows of these sizes exceed 5% of the time without any drift.", "model", "feature")
	predictionPSIDesc      = desc("prediction_psi", "Population stability index of the model's output, current against reference.", "model")
	predictionJSDesc       = desc("prediction_js_divergence", "Jensen-Shannon divergence (log base 2) of the model's output, current against reference.", "model")
	labelPSIDesc           = desc("label_psi", "Population stability index of the labels, performance window against the reference.", "model")
	labelJSDesc            = desc("label_js_divergence", "Jensen-Shannon divergence (log base 2) of the labels, performance window against the reference.", "model")
)

// Data quality.
var (
	featureSamplesDesc    = desc("feature_samples", "Rows of the window where the feature is present (not NULL or NaN).", "model", "feature", "window")
	featureMissingDesc    = desc("feature_missing_ratio", "Share of the window's rows where the feature is NULL or NaN.", "model", "feature", "window")
	featureOutOfRangeDesc = desc("feature_out_of_range_ratio", "Share of the current window's values outside the reference [min, max] (numeric features).", "model", "feature")
	featureUnseenDesc     = desc("feature_unseen_category_ratio", "Share of the current window's values never seen in the reference (categorical features).", "model", "feature")
)

// MetricNames lists the name of every metric family the exporter can expose,
// so rules and dashboards can be checked against it.
func MetricNames() []string {
	var names []string
	for _, d := range allDescs {
		names = append(names, descName(d))
	}
	slices.Sort(names)
	return names
}

var allDescs = []*prometheus.Desc{
	buildInfoDesc, modelInfoDesc, clickhouseUpDesc, scrapeSuccessDesc, scrapeDurationDesc, queryErrorsDesc, thresholdDesc,
	reloadSuccessfulDesc, reloadSuccessTimestampDesc, skippedDesc,
	queriesDesc, readRowsDesc, readBytesDesc, querySecondsDesc, sampleRatioDesc, preaggregatedIntervalDesc,
	predictionsDesc, predictionRateDesc, lastPredictionDesc, lastLabelDesc, labeledDesc, labelCoverageDesc, latencyDesc, errorRatioDesc,
	accuracyDesc, precisionDesc, recallDesc, f1Desc, classPrecisionDesc, classRecallDesc, classF1Desc, confusionDesc,
	rocAUCDesc, logLossDesc, brierDesc, maeDesc, rmseDesc, mapeDesc, r2Desc,
	featurePSIDesc, featureJSDesc, featureKSDesc, featureWassersteinDesc, featureChi2PDesc, featurePSICriticalDesc,
	predictionPSIDesc, predictionJSDesc, labelPSIDesc, labelJSDesc,
	featureSamplesDesc, featureMissingDesc, featureOutOfRangeDesc, featureUnseenDesc,
	estimatedAccuracyDesc, estimatedPrecisionDesc, estimatedRecallDesc, estimatedF1Desc, estimatedClassF1Desc,
	estimatedROCAUCDesc, calibrationErrorDesc, calibrationSamplesDesc,
}

// descName extracts the fully-qualified name; client_golang exposes it only
// through String().
func descName(d *prometheus.Desc) string {
	s := d.String()
	const prefix = `Desc{fqName: "`
	s = strings.TrimPrefix(s, prefix)
	return s[:strings.IndexByte(s, '"')]
}
