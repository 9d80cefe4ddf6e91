package collector

import (
	"context"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/stats"
)

const (
	queryReference = "reference"
	queryDrift     = "drift"
)

// collectDrift compares the current window with the model's reference:
// data quality and drift per feature, and drift of the model's output. The
// current window costs one query whatever the number of features.
func collectDrift(ctx context.Context, m *model) error {
	if m.Reference == nil {
		return nil
	}
	var ref *reference
	err := m.query(queryReference, func() (err error) {
		ref, err = m.scrape.target.References.get(ctx, m.Model, m.scrape.now)
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
		src := chquery.Source{Window: currentWindow(m.Model, m.scrape.now), Sampling: sampling, Scores: estimated(m.Model)}
		if p := m.Preaggregated; p != nil {
			m.out.gauge(preaggregatedIntervalDesc, p.Interval.Seconds(), m.Name)
			cur, err = m.scrape.target.Client.PreaggregatedWindow(ctx, m.Model, src.Window, ref.currentBinnings(), queryDrift)
			return err
		}
		cur, err = m.scrape.target.Client.Window(ctx, m.Model, src, ref.currentBinnings(), queryDrift)
		return err
	})
	if err != nil {
		return err
	}
	m.inputs.current = cur.Scores
	for i, col := range ref.columns {
		m.emitColumn(col, ref.binnings[i], ref.profile.Columns[i], ref.stats.Rows, ref.stats.Columns[i], cur.Rows, cur.Columns[i])
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
