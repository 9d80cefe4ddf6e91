package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
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
)

// Data quality.
var (
	featureSamplesDesc    = desc("feature_samples", "Rows of the window where the feature is present (not NULL or NaN).", "model", "feature", "window")
	featureMissingDesc    = desc("feature_missing_ratio", "Share of the window's rows where the feature is NULL or NaN.", "model", "feature", "window")
	featureOutOfRangeDesc = desc("feature_out_of_range_ratio", "Share of the current window's values outside the reference [min, max] (numeric features).", "model", "feature")
	featureUnseenDesc     = desc("feature_unseen_category_ratio", "Share of the current window's values never seen in the reference (categorical features).", "model", "feature")
)

const (
	queryReference = "reference"
	queryDrift     = "drift"
)

var driftFamily = family{
	name: "drift",
	descs: []*prometheus.Desc{featurePSIDesc, featureJSDesc, featureKSDesc, featureWassersteinDesc, featureChi2PDesc,
		featurePSICriticalDesc, predictionPSIDesc, predictionJSDesc,
		featureSamplesDesc, featureMissingDesc, featureOutOfRangeDesc, featureUnseenDesc},
	queries: func(m *config.Model) []string {
		if m.Reference == nil {
			return nil
		}
		return append([]string{queryReference, queryDrift}, samplingQuery(m)...)
	},
	collect:     collectDrift,
	independent: true,
}

// collectDrift compares the current window with the model's reference:
// data quality and drift per feature, and drift of the model's output. The
// current window costs one query whatever the number of features.
func collectDrift(ctx context.Context, m *model) error {
	if m.Reference == nil {
		return nil
	}
	var ref *reference
	err := m.query(queryReference, func() (err error) {
		ref, err = m.references().get(ctx, m.Model, m.now())
		return err
	})
	if err != nil {
		return err
	}
	m.out.gauge(predictionsDesc, float64(ref.profile.Rows), m.Name, windowReference)

	sampling, err := m.sampling(ctx)
	if err != nil {
		return err
	}
	var cur chquery.WindowStats
	err = m.query(queryDrift, func() (err error) {
		src := chquery.Source{Window: currentWindow(m.Model, m.now()), Sampling: sampling, Scores: m.estimated(),
			ClassScores: m.estimatedMulticlass(), Segments: ref.segments}
		if p := m.Preaggregated; p != nil {
			m.out.gauge(preaggregatedIntervalDesc, p.Interval.Seconds(), m.Name)
			cur, err = m.client().PreaggregatedWindow(ctx, m.Model, src.Window, ref.currentBinnings(), queryDrift)
			return err
		}
		cur, err = m.client().Window(ctx, m.Model, src, ref.currentBinnings(), queryDrift)
		return err
	})
	if err != nil {
		return err
	}
	m.inputs.current = cur.Scores
	m.inputs.classCurrent = cur.ClassScores
	m.segments.ref, m.segments.current = ref, cur.Segments
	for i, col := range ref.columns {
		m.emitColumn(col, ref.binnings[i], ref.profile.Columns[i], ref.stats.Rows, ref.stats.Columns[i], cur.Rows, cur.Columns[i])
		m.recordBins(col, ref.binnings[i], ref.stats.Rows, ref.stats.Columns[i], cur.Rows, cur.Columns[i])
	}
	return nil
}

// emitColumn reports one column. Windows with fewer rows than min_samples
// get their sample counts only: the counts say why the rest is missing.
func (m *model) emitColumn(col driftColumn, bin chquery.Binning, prof chquery.ColumnProfile,
	refRows uint64, ref chquery.ColumnStats, curRows uint64, cur chquery.ColumnStats) {
	minSamples := uint64(m.Settings.MinSamples)
	refN, curN := refRows-ref.Missing, curRows-cur.Missing
	if col.feature != "" {
		f := col.feature
		m.out.gauge(featureSamplesDesc, float64(curN), m.Name, f, windowCurrent)
		m.out.gauge(featureSamplesDesc, float64(refN), m.Name, f, windowReference)
		if curRows >= minSamples {
			m.out.gauge(featureMissingDesc, float64(cur.Missing)/float64(curRows), m.Name, f, windowCurrent)
		}
		if refRows >= minSamples {
			m.out.gauge(featureMissingDesc, float64(ref.Missing)/float64(refRows), m.Name, f, windowReference)
		}
		if curN >= minSamples && refN > 0 {
			if col.numeric {
				m.out.gauge(featureOutOfRangeDesc, float64(cur.OutOfRange)/float64(curN), m.Name, f)
			} else if bin.Seen != nil {
				m.out.gauge(featureUnseenDesc, float64(cur.Unseen)/float64(curN), m.Name, f)
			}
		}
	}
	if curN < minSamples || refN < minSamples {
		return
	}
	r, c := floats(ref.Bins), floats(cur.Bins)
	psi, js := stats.PSI(r, c), stats.JSDivergence(r, c)
	if col.feature == "" {
		m.out.gauge(predictionPSIDesc, psi, m.Name)
		m.out.gauge(predictionJSDesc, js, m.Name)
		return
	}
	f := col.feature
	m.out.gauge(featurePSIDesc, psi, m.Name, f)
	m.out.gauge(featureJSDesc, js, m.Name, f)
	m.out.gauge(featureChi2PDesc, stats.ChiSquareP(r, c), m.Name, f)
	m.out.gauge(featurePSICriticalDesc, stats.PSICriticalValue(float64(refN), float64(curN), occupiedBins(r, c)), m.Name, f)
	if col.numeric {
		m.out.gauge(featureKSDesc, stats.KSStatistic(r, c), m.Name, f)
		m.out.gauge(featureWassersteinDesc, stats.Wasserstein(prof.Grid, cur.Grid, prof.StdDev), m.Name, f)
	}
}

// occupiedBins counts the bins either window uses: the degrees of freedom
// of the no-drift distribution come from those, as in the chi-square test.
func occupiedBins(ref, cur []float64) int {
	n := 0
	for i := range ref {
		if ref[i] > 0 || cur[i] > 0 {
			n++
		}
	}
	return n
}

func floats(xs []uint64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}
