package rules

import (
	"fmt"
	"time"
)

// Recording rules shared by alerts and dashboards. Names follow
// level:metric:operations; "model" and "model_feature" levels keep the
// target labels too, as the alerts do.
const (
	// AccuracyDrop is reference minus current accuracy, per model: positive
	// when the model got worse.
	AccuracyDrop = "model:mlmon_accuracy_drop:ratio"
	// DriftedFeaturePSI is the PSI of each feature that drifts: above its
	// psi_max threshold and above the critical value of the window sizes.
	// Features that do not drift have no series.
	DriftedFeaturePSI = "model_feature:mlmon_feature_psi:drifted"
	// DriftedFeatures counts drifting features per model; 0 (not absent) for
	// a model whose PSI is computed and nothing drifts, so dashboards show a
	// line rather than "no data".
	DriftedFeatures = "model:mlmon_feature_drifted:count"
	// EstimatedAccuracyDrop is the reference's realised accuracy minus the
	// current window's label-free estimate, per model: positive when the
	// scores say the model got worse.
	EstimatedAccuracyDrop = "model:mlmon_estimated_accuracy_drop:ratio"
)

const (
	minute = time.Minute
	hour   = time.Hour
)

// healthGroup watches the exporter, its ClickHouse connection and the rules
// bundle itself.
func healthGroup(opts Options) Group {
	return Group{Name: "mlmon.health", Rules: alerts(
		alert{
			name: "MLMonExporterDown",
			tier: TierCritical,
			// Not absent(up{…}): whether an absent target is an outage
			// depends on the setup (service discovery, several Prometheus
			// servers), and a wrong guess pages at night.
			expr:        fmt.Sprintf("up{%s} == 0", opts.JobSelector),
			hold:        5 * minute,
			summary:     "An mlmon exporter cannot be scraped.",
			description: "Prometheus cannot scrape the mlmon exporter {{ $labels.instance }} (job {{ $labels.job }}): no model metrics are collected from it and the other mlmon alerts cannot fire for its models.",
		},
		alert{
			name:        "MLMonClickHouseDown",
			tier:        TierCritical,
			expr:        "mlmon_clickhouse_up == 0",
			hold:        5 * minute,
			summary:     "An mlmon exporter cannot reach ClickHouse.",
			description: "The mlmon exporter {{ $labels.instance }} cannot reach ClickHouse: no quality, drift or freshness metric of its models is computed.",
		},
		alert{
			name:        "MLMonModelScrapeFailing",
			tier:        TierHigh,
			expr:        "mlmon_scrape_success == 0",
			hold:        10 * minute,
			summary:     "The queries of a model keep failing.",
			description: "Some queries of model {{ $labels.model }} fail on every scrape of {{ $labels.instance }}; its metrics are incomplete and alerts that read them cannot fire.",
		},
		alert{
			name: "MLMonQueryErrors",
			tier: TierMedium,
			// A query that fails now and then leaves gaps in the
			// dashboards without failing every scrape; increase over the
			// same span as `for` catches a steady trickle of errors.
			expr:        "increase(mlmon_query_errors_total[15m]) > 0",
			hold:        15 * minute,
			summary:     "ClickHouse queries of a model keep failing now and then.",
			description: "The {{ $labels.query }} query of model {{ $labels.model }} failed {{ $value | humanize }} times in the last 15 minutes on {{ $labels.instance }}.",
		},
		alert{
			name: "MLMonConfigReloadFailed",
			tier: TierMedium,
			// As Prometheus's own PrometheusBadConfig: the exporter keeps
			// running its last good configuration, so this is a warning,
			// but the edit someone expects to be live is not.
			expr:        "max_over_time(mlmon_config_last_reload_successful[5m]) == 0",
			hold:        10 * minute,
			summary:     "An mlmon exporter failed to reload its configuration.",
			description: "The last configuration reload of the mlmon exporter {{ $labels.instance }} failed; it keeps running its previous configuration, so the latest edit of mlmon.yml is not in effect.",
		},
		alert{
			name: "MLMonRulesVersionMismatch",
			tier: TierMedium,
			expr: fmt.Sprintf("mlmon_build_info{rules_version!=%q}", Version),
			// A rollout updates the exporter and the rules one after the
			// other; only a mismatch that outlives a rollout is worth a
			// message.
			hold:        1 * hour,
			summary:     "The loaded rules and the running exporter come from different mlmon versions.",
			description: fmt.Sprintf("The mlmon exporter {{ $labels.instance }} (version {{ $labels.version }}) was built with rules bundle {{ $labels.rules_version }}, but Prometheus loaded rules bundle %s: metric names, thresholds or alerts may disagree.", Version),
		},
	)}
}

// operationsGroup watches volume, freshness, labels, latency and errors.
func operationsGroup() Group {
	return Group{Name: "mlmon.operations", Rules: alerts(
		alert{
			name:        "MLMonPredictionsStale",
			tier:        TierHigh,
			expr:        compare("(time() - mlmon_last_prediction_timestamp_seconds)", ">", "prediction_staleness_max_seconds", "mlmon_last_prediction_timestamp_seconds"),
			hold:        10 * minute,
			summary:     "A model has logged no new prediction for a while.",
			description: "The newest prediction of model {{ $labels.model }} is {{ $value | humanizeDuration }} old.",
		},
		alert{
			name: "MLMonPredictionsAbsent",
			tier: TierHigh,
			// The exporter omits the timestamp when its lookback holds no
			// prediction; model_info is always there. Requiring a
			// successful scrape keeps a ClickHouse outage (which removes
			// the timestamp too) for the alerts about it.
			expr: guarded(
				"group without (task, version) (mlmon_model_info)\nunless\n  mlmon_last_prediction_timestamp_seconds",
				"mlmon_scrape_success == 1"),
			hold:        15 * minute,
			summary:     "A model has logged no prediction in the exporter's lookback.",
			description: "The mlmon exporter {{ $labels.instance }} finds no prediction of model {{ $labels.model }} in its lookback window: the model stopped serving, or stopped logging to ClickHouse.",
		},
		alert{
			name:        "MLMonLabelsStale",
			tier:        TierMedium,
			expr:        compare("(time() - mlmon_last_label_timestamp_seconds)", ">", "label_staleness_max_seconds", "mlmon_last_label_timestamp_seconds"),
			hold:        15 * minute,
			summary:     "Ground truth of a model has stopped arriving.",
			description: "The newest label of model {{ $labels.model }} arrived {{ $value | humanizeDuration }} ago; performance metrics are going stale.",
		},
		alert{
			name:        "MLMonLabelCoverageLow",
			tier:        TierMedium,
			expr:        below("mlmon_label_coverage_ratio", "label_coverage_min"),
			hold:        30 * minute,
			summary:     "Few predictions of a model have ground truth.",
			description: "Only {{ $value | humanizePercentage }} of the predictions of model {{ $labels.model }} in the performance window have a label.",
		},
		alert{
			name:        "MLMonLatencyHigh",
			tier:        TierMedium,
			expr:        above(`mlmon_prediction_latency_seconds{quantile="0.99"}`, "latency_p99_max_seconds", "quantile"),
			hold:        15 * minute,
			summary:     "A model's 99th percentile prediction latency is high.",
			description: "The 99th percentile prediction latency of model {{ $labels.model }} is {{ $value | humanizeDuration }}.",
		},
		alert{
			name:        "MLMonErrorRatioHigh",
			tier:        TierHigh,
			expr:        above("mlmon_prediction_error_ratio", "error_ratio_max"),
			hold:        10 * minute,
			summary:     "Many predictions of a model are errors.",
			description: "{{ $value | humanizePercentage }} of the predictions of model {{ $labels.model }} in the current window are flagged as errors.",
		},
	)}
}

// labeledGuard keeps thin performance windows from paging: the exporter
// computes accuracy from however few labeled rows there are.
var labeledGuard = fmt.Sprintf("mlmon_labeled_predictions >= %d", MinSamples)

// performanceGroup compares current model quality with the reference and
// with configured minimums.
func performanceGroup() Group {
	rs := []Rule{{
		Record: AccuracyDrop,
		Expr:   `mlmon_accuracy_ratio{window="reference"} - ignoring (window) mlmon_accuracy_ratio{window="current"}`,
	}, {
		Record: EstimatedAccuracyDrop,
		Expr:   `mlmon_accuracy_ratio{window="reference"} - ignoring (window) mlmon_estimated_accuracy_ratio`,
	}}
	rs = append(rs, alerts(
		alert{
			name:        "MLMonAccuracyDrop",
			tier:        TierCritical,
			expr:        guarded(above(AccuracyDrop, "accuracy_drop_max"), labeledGuard),
			hold:        30 * minute,
			summary:     "A model's accuracy fell below its reference accuracy.",
			description: "The accuracy of model {{ $labels.model }} is {{ $value | humanizePercentage }} (absolute) below its reference window.",
		},
		alert{
			// The label-free estimate stands in for the realised accuracy
			// while labels are missing: once coverage reaches
			// label_coverage_min, MLMonAccuracyDrop speaks from the
			// labels. An estimate never pages (it assumes P(label | score)
			// is stable, which concept drift breaks): chat and ticket.
			// The exporter emits it only above min_samples on both sides.
			name: "MLMonEstimatedAccuracyDrop",
			tier: TierHigh,
			expr: guarded(above(EstimatedAccuracyDrop, "accuracy_drop_max"),
				below("mlmon_label_coverage_ratio", "label_coverage_min")),
			hold:        30 * minute,
			summary:     "A model's accuracy, estimated from its scores before the labels arrive, fell below its reference accuracy.",
			description: "The accuracy of model {{ $labels.model }} estimated from its scores in the current window is {{ $value | humanizePercentage }} (absolute) below its reference window's, while too few of its predictions have labels to measure it.",
		},
		alert{
			name:        "MLMonAccuracyBelowMinimum",
			tier:        TierCritical,
			expr:        guarded(below(`mlmon_accuracy_ratio{window="current"}`, "accuracy_min", "window"), labeledGuard, "window"),
			hold:        30 * minute,
			summary:     "A model's accuracy is below its configured minimum.",
			description: "The accuracy of model {{ $labels.model }} is {{ $value | humanizePercentage }}, below its accuracy_min threshold.",
		},
		alert{
			// Macro average: every class counts alike, so a failing
			// minority class shows, which the binary and micro averages
			// can hide.
			name:        "MLMonF1BelowMinimum",
			tier:        TierCritical,
			expr:        guarded(below(`mlmon_f1_score{window="current", average="macro"}`, "f1_min", "window", "average"), labeledGuard, "window", "average"),
			hold:        30 * minute,
			summary:     "A model's macro F1 score is below its configured minimum.",
			description: `The macro-averaged F1 score of model {{ $labels.model }} is {{ $value | printf "%.3f" }}, below its f1_min threshold.`,
		},
	)...)
	return Group{Name: "mlmon.performance", Rules: rs}
}

// driftGroup records which features drift and alerts by tier.
func driftGroup() Group {
	rs := []Rule{
		{
			Record: DriftedFeaturePSI,
			// A PSI above its threshold but within what sampling noise
			// gives at these window sizes is not drift (docs/statistics.md).
			Expr: guarded(above("mlmon_feature_psi", "psi_max", "feature"),
				"mlmon_feature_psi > mlmon_feature_psi_critical_value"),
		},
		{
			Record: DriftedFeatures,
			Expr: fmt.Sprintf("count without (feature) (%s)\nor\n  group without (feature) (mlmon_feature_psi) * 0",
				DriftedFeaturePSI),
		},
	}
	rs = append(rs, alerts(
		alert{
			name:        "MLMonFeatureDriftMultiple",
			tier:        TierHigh,
			expr:        compare(DriftedFeatures, ">=", "drifted_features_min", DriftedFeatures),
			hold:        30 * minute,
			summary:     "Several input features of a model drift.",
			description: "{{ $value | humanize }} features of model {{ $labels.model }} drift: their PSI is above both the psi_max threshold and the critical value of the window sizes.",
		},
		alert{
			name: "MLMonPredictionDrift",
			tier: TierMedium,
			// No critical value exists for the output, so both windows
			// must hold enough predictions.
			expr: guarded(
				guarded(above("mlmon_prediction_psi", "prediction_psi_max"),
					fmt.Sprintf(`mlmon_predictions{window="current"} >= %d`, MinSamples), "window"),
				fmt.Sprintf(`mlmon_predictions{window="reference"} >= %d`, MinSamples), "window"),
			hold:        30 * minute,
			summary:     "The output distribution of a model drifts.",
			description: `The PSI of the predictions of model {{ $labels.model }} is {{ $value | printf "%.3f" }}, current window against the reference.`,
		},
		alert{
			name:        "MLMonFeatureDrift",
			tier:        TierLow,
			expr:        DriftedFeaturePSI,
			hold:        30 * minute,
			summary:     "An input feature of a model drifts.",
			description: `Feature {{ $labels.feature }} of model {{ $labels.model }} drifts: its PSI {{ $value | printf "%.3f" }} is above both its psi_max threshold and the critical value of the window sizes.`,
		},
		alert{
			name:        "MLMonLabelDrift",
			tier:        TierLow,
			expr:        guarded(above("mlmon_label_psi", "label_psi_max"), labeledGuard),
			hold:        30 * minute,
			summary:     "The ground-truth distribution of a model drifts.",
			description: `The PSI of the labels of model {{ $labels.model }} is {{ $value | printf "%.3f" }}, performance window against the reference.`,
		},
	)...)
	return Group{Name: "mlmon.drift", Rules: rs}
}

// dataQualityGroup watches the inputs' completeness and domain.
func dataQualityGroup() Group {
	return Group{Name: "mlmon.data-quality", Rules: alerts(
		alert{
			name:        "MLMonFeatureMissingHigh",
			tier:        TierMedium,
			expr:        above(`mlmon_feature_missing_ratio{window="current"}`, "missing_ratio_max", "feature", "window"),
			hold:        15 * minute,
			summary:     "Many values of an input feature are missing.",
			description: "{{ $value | humanizePercentage }} of the values of feature {{ $labels.feature }} of model {{ $labels.model }} are missing in the current window.",
		},
		alert{
			name:        "MLMonFeatureOutOfRangeHigh",
			tier:        TierLow,
			expr:        above("mlmon_feature_out_of_range_ratio", "out_of_range_ratio_max", "feature"),
			hold:        30 * minute,
			summary:     "Many values of a numeric feature fall outside the reference range.",
			description: "{{ $value | humanizePercentage }} of the values of feature {{ $labels.feature }} of model {{ $labels.model }} fall outside the reference [min, max].",
		},
		alert{
			name:        "MLMonFeatureUnseenCategoriesHigh",
			tier:        TierLow,
			expr:        above("mlmon_feature_unseen_category_ratio", "unseen_category_ratio_max", "feature"),
			hold:        30 * minute,
			summary:     "Many values of a categorical feature were never seen in the reference.",
			description: "{{ $value | humanizePercentage }} of the values of feature {{ $labels.feature }} of model {{ $labels.model }} are categories never seen in the reference.",
		},
	)}
}
