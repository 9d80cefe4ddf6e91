package dashboards

import (
	"github.com/grafana-tools/sdk"

	"github.com/mlmon/mlmon/rules"
)

// features answers "which inputs of this model moved, how far, and is it
// real?": every drift statistic and data-quality ratio per feature.
func features() (Dashboard, error) {
	b := newBoard(UIDFeatures, "mlmon / Feature drift", modelVar(), featureVar())
	psiMax := ruleDefault("psi_max")
	// drifting is 1 for a feature the rules consider drifting, else 0.
	drifting := "max by (feature) (" + rules.DriftedFeaturePSI + "{" + theseFeatures + "}) > bool 0 or on (feature) 0 * " + perFeature("mlmon_feature_psi")

	b.row("Now: features ranked by drift")
	b.add(
		panel{
			title: "Features ranked by PSI", kind: table, unit: "short", width: 14, height: 9,
			description: "Current PSI of each feature with the critical value of the window sizes (the PSI no drift exceeds 5% of the time), the chi-square p-value of the binned windows and the JS divergence. Drifting: above both psi_max and the critical value, as the alerts judge it.",
			queries: []query{
				{expr: "sort_desc(" + perFeature("mlmon_feature_psi") + ")"},
				{expr: perFeature("mlmon_feature_psi_critical_value")},
				{expr: drifting},
				{expr: perFeature("mlmon_feature_chi2_p_value")},
				{expr: perFeature("mlmon_feature_js_divergence")},
			},
			transformations: []transformation{merge(), organize([]string{"Time"},
				map[string]string{"Value #A": "PSI", "Value #B": "Critical value", "Value #C": "Drifting", "Value #D": "χ² p-value", "Value #E": "JS divergence"},
				[]string{"feature", "Value #A", "Value #B", "Value #C", "Value #D", "Value #E"})},
			thresholds: highIsBad(psiMax),
			overrides: []override{
				colorCells("PSI"),
				{Matcher: matcher{ID: "byName", Options: "Drifting"}, Properties: []property{{ID: "mappings", Value: []valueMapping{{
					Type: "value", Options: map[string]mappingResult{"0": {Text: "no", Color: green, Index: 0}, "1": {Text: "yes", Color: red, Index: 1}},
				}}}, {ID: "custom.cellOptions", Value: map[string]string{"type": "color-text"}}}},
			},
			sortBy: "PSI",
			links:  []sdk.Link{runbook("MLMonFeatureDrift"), runbook("MLMonFeatureDriftMultiple")},
			// A feature's name opens this board on that feature alone: its
			// distribution is drawn below.
			dataLinks: []dataLink{toFeatureDistribution},
		},
		panel{
			title: "PSI by feature", kind: bargauge, unit: "short", width: 10, height: 9, min: ptr(0.0),
			description: "Current PSI per feature; red from the default psi_max.",
			queries:     []query{{expr: "sort_desc(" + perFeature("mlmon_feature_psi") + ")", legend: "{{feature}}"}},
			thresholds:  highIsBad(psiMax),
		},
	)

	b.row("Distribution: reference against current")
	b.add(panel{
		title: "Distribution of $feature", kind: barchart, unit: "percentunit", min: ptr(0.0), repeat: "feature", height: 9,
		description: "Share of the window's non-missing values per drift bin, reference against current (mlmon_feature_bin_ratio; the model needs export_bins: true). Numeric bins are the reference's quantile intervals; categorical ones the reference's top categories (named with export_categories: true) and __other__.",
		queries:     []query{{expr: `max by (bin, window) (mlmon_feature_bin_ratio{` + thisModel + `, feature=~"$feature"})`}},
		transformations: []transformation{matrix("bin", "window"),
			organize(nil, map[string]string{"bin\\window": "bin"}, []string{"bin\\window", "reference", "current"}), sortRows("bin")},
	})

	b.row("Drift over time")
	b.add(
		panel{
			title: "PSI", kind: timeseries, unit: "short", min: ptr(0.0), legendTable: true, thresholdLine: true,
			description: "Population stability index per feature, current window against the reference (reference quantile bins).",
			queries:     []query{{expr: perFeature("mlmon_feature_psi"), legend: "{{feature}}"}},
			thresholds:  highIsBad(psiMax),
			links:       []sdk.Link{runbook("MLMonFeatureDrift")},
		},
		panel{
			title: "PSI ÷ critical value", kind: timeseries, unit: "short", min: ptr(0.0), legendTable: true, thresholdLine: true,
			description: "Above 1, a feature's PSI is more than sampling noise explains at these window sizes (5% level): a high PSI on thin windows stays below 1.",
			queries:     []query{{expr: perFeature("mlmon_feature_psi") + " / " + perFeature("mlmon_feature_psi_critical_value"), legend: "{{feature}}"}},
			thresholds:  highIsBad(1),
		},
		panel{
			title: "Jensen-Shannon divergence", kind: timeseries, unit: "short", min: ptr(0.0), legendTable: true, thresholdLine: true,
			description: "JS divergence per feature (log base 2, 0..1; the JS distance is its square root). The line is the js_max threshold, shown on dashboards only.",
			queries:     []query{{expr: perFeature("mlmon_feature_js_divergence"), legend: "{{feature}}"}},
			thresholds:  highIsBad(ruleDefault("js_max")),
		},
		panel{
			title: "Chi-square p-value", kind: timeseries, unit: "short", min: ptr(0.0), max: ptr(1.0), legendTable: true, thresholdLine: true,
			description: "p-value of Pearson's test that the current and reference bins come from one distribution. Below 0.05 the difference is significant; on large windows even a tiny drift is, so read it with PSI.",
			queries:     []query{{expr: perFeature("mlmon_feature_chi2_p_value"), legend: "{{feature}}"}},
			thresholds:  lowIsBad(0.05),
		},
		panel{
			title: "KS statistic (numeric features)", kind: timeseries, unit: "short", min: ptr(0.0), max: ptr(1.0), legendTable: true,
			description: "Largest gap between the reference and current CDFs over the reference bin edges (a lower bound of the exact statistic).",
			queries:     []query{{expr: perFeature("mlmon_feature_ks_statistic"), legend: "{{feature}}"}},
		},
		panel{
			title: "Wasserstein distance (numeric features)", kind: timeseries, unit: "short", min: ptr(0.0), legendTable: true,
			description: "How far the distribution moved, in reference standard deviations: 0.5 means values shifted by half a standard deviation on average.",
			queries:     []query{{expr: perFeature("mlmon_feature_wasserstein"), legend: "{{feature}}"}},
		},
	)

	b.row("Data quality")
	b.add(
		panel{
			title: "Missing values", kind: timeseries, unit: "percentunit", min: ptr(0.0), legendTable: true, thresholdLine: true,
			description: "Share of rows where the feature is NULL or NaN, in the current and reference windows.",
			queries:     []query{{expr: "max by (feature, window) (mlmon_feature_missing_ratio{" + theseFeatures + "})", legend: "{{feature}} ({{window}})"}},
			thresholds:  highIsBad(ruleDefault("missing_ratio_max")),
			links:       []sdk.Link{runbook("MLMonFeatureMissingHigh")},
		},
		panel{
			title: "Out-of-range values (numeric)", kind: timeseries, unit: "percentunit", width: 6, min: ptr(0.0), thresholdLine: true,
			description: "Share of current values outside the reference [min, max].",
			queries:     []query{{expr: perFeature("mlmon_feature_out_of_range_ratio"), legend: "{{feature}}"}},
			thresholds:  highIsBad(ruleDefault("out_of_range_ratio_max")),
			links:       []sdk.Link{runbook("MLMonFeatureOutOfRangeHigh")},
		},
		panel{
			title: "Unseen categories (categorical)", kind: timeseries, unit: "percentunit", width: 6, min: ptr(0.0), thresholdLine: true,
			description: "Share of current values the reference never had.",
			queries:     []query{{expr: perFeature("mlmon_feature_unseen_category_ratio"), legend: "{{feature}}"}},
			thresholds:  highIsBad(ruleDefault("unseen_category_ratio_max")),
			links:       []sdk.Link{runbook("MLMonFeatureUnseenCategoriesHigh")},
		},
		panel{
			title: "Samples: current vs reference", kind: table, unit: "short", width: 12, height: 8,
			description: "Non-missing values per feature in each window. Drift metrics are omitted below min_samples; thin windows also raise the critical value.",
			queries: []query{
				{expr: `max by (feature) (mlmon_feature_samples{` + theseFeatures + `, window="current"})`},
				{expr: `max by (feature) (mlmon_feature_samples{` + theseFeatures + `, window="reference"})`},
			},
			transformations: []transformation{merge(), organize([]string{"Time"},
				map[string]string{"Value #A": "Current", "Value #B": "Reference"},
				[]string{"feature", "Value #A", "Value #B"})},
		},
	)
	return b.done()
}
