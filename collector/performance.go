package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/stats"
)

// Performance.
var (
	lastLabelDesc      = desc("last_label_timestamp_seconds", "Arrival time of the newest label joined to a prediction of the performance window.", "model")
	labeledDesc        = desc("labeled_predictions", "Predictions of the performance window that have a label.", "model")
	labelCoverageDesc  = desc("label_coverage_ratio", "Share of the performance window's predictions that have a label.", "model")
	accuracyDesc       = desc("accuracy_ratio", "Accuracy of labeled predictions.", "model", "window")
	precisionDesc      = desc("precision_ratio", "Precision averaged over classes (scikit-learn's definitions; undefined classes left out).", "model", "window", "average")
	recallDesc         = desc("recall_ratio", "Recall averaged over classes (scikit-learn's definitions; undefined classes left out).", "model", "window", "average")
	f1Desc             = desc("f1_score", "F1 score averaged over classes (scikit-learn's definitions; undefined classes left out).", "model", "window", "average")
	classPrecisionDesc = desc("class_precision_ratio", "Precision of one class over the performance window.", "model", "class")
	classRecallDesc    = desc("class_recall_ratio", "Recall of one class over the performance window.", "model", "class")
	classF1Desc        = desc("class_f1_score", "F1 score of one class over the performance window.", "model", "class")
	confusionDesc      = desc("confusion_matrix", "Labeled predictions by actual and predicted class over the performance window.", "model", "actual", "predicted")
	rocAUCDesc         = desc("roc_auc", "Area under the ROC curve of the score (binary models; multiclass models with scores: one-vs-rest, macro).", "model", "window")
	logLossDesc        = desc("log_loss", "Mean log loss of the score, probabilities clipped to [1e-15, 1-1e-15] (binary models).", "model", "window")
	brierDesc          = desc("brier_score", "Mean squared difference between score and outcome (binary models).", "model", "window")
	maeDesc            = desc("mae", "Mean absolute error (regression).", "model", "window")
	rmseDesc           = desc("rmse", "Root mean squared error (regression).", "model", "window")
	mapeDesc           = desc("mape_ratio", "Mean absolute percentage error over labels other than zero, as a ratio (regression).", "model", "window")
	r2Desc             = desc("r2", "Coefficient of determination (regression).", "model", "window")
	labelPSIDesc       = desc("label_psi", "Population stability index of the labels, performance window against the reference.", "model")
	labelJSDesc        = desc("label_js_divergence", "Jensen-Shannon divergence (log base 2) of the labels, performance window against the reference.", "model")
)

const (
	queryPerformance          = "performance"
	queryPerformanceReference = "performance_reference"
)

var performanceFamily = family{
	name: "performance",
	descs: []*prometheus.Desc{labeledDesc, labelCoverageDesc, lastLabelDesc,
		accuracyDesc, precisionDesc, recallDesc, f1Desc, classPrecisionDesc, classRecallDesc, classF1Desc, confusionDesc,
		rocAUCDesc, logLossDesc, brierDesc, maeDesc, rmseDesc, mapeDesc, r2Desc, labelPSIDesc, labelJSDesc},
	queries: func(m *config.Model) []string {
		if m.GroundTruth == nil {
			return nil
		}
		names := append([]string{queryPerformance}, samplingQuery(m)...)
		if m.Reference != nil && m.Reference.Kind != config.ReferenceTable {
			names = append(names, queryPerformanceReference)
		}
		return names
	},
	collect:     collectPerformance,
	independent: true,
}

// referencePerformanceRefresh is how long a fixed reference range's
// performance is reused: labels for its predictions may still arrive, but
// slowly, and re-joining a large range on every scrape would dominate it.
const referencePerformanceRefresh = time.Hour

// collectPerformance reports label coverage and the task's quality metrics
// over the performance window, and over the reference window where it has
// labels, so rules can compare the two. The reference's join is cached.
func collectPerformance(ctx context.Context, m *model) error {
	if m.GroundTruth == nil {
		return nil
	}
	now := m.now()
	segs := m.segmentColumns(ctx) // read here: the reference join may run on after the scrape
	var current perf
	err := m.query(queryPerformance, func() (err error) {
		if j := m.scrape.joins[m.Name]; j != nil {
			current, err = j.result(ctx, m)
			return err
		}
		current, err = m.joinLabels(ctx, performanceWindow(m.Model, now), queryPerformance, segs)
		return err
	})
	if err == nil {
		labels := current.labels()
		m.out.gauge(labeledDesc, float64(labels.Labeled), m.Name)
		if labels.Predictions > 0 {
			m.out.gauge(labelCoverageDesc, float64(labels.Labeled)/float64(labels.Predictions), m.Name)
		}
		if !labels.LastLabel.IsZero() {
			m.out.gauge(lastLabelDesc, float64(labels.LastLabel.Unix()), m.Name)
		}
		m.emitPerformance(current, windowCurrent)
		m.segments.addPerformance(windowCurrent, current)
	}

	ref := referencePerformanceWindow(m.Model, now)
	if ref == nil {
		return err
	}
	maxAge := referencePerformanceRefresh
	if m.Reference.Kind == config.ReferenceRolling {
		maxAge = referenceRefresh
	}
	if len(m.Segments) > 0 && segs == nil {
		// The segment values are not known yet: the reference join, cached
		// for long, waits for them rather than being cached without them.
		return err
	}
	var reference perf
	refErr := m.query(queryPerformanceReference, func() (err error) {
		key, maxAge := m.references().entry(m.Model, ref, maxAge)
		reference, err = m.references().performance.get(m.segmentsNoWait(ctx), key, now, maxAge, func(ctx context.Context) (perf, error) {
			return m.joinLabels(ctx, *ref, queryPerformanceReference, segs)
		})
		return err
	})
	if refErr == nil {
		m.inputs.reference = reference.classification
		m.inputs.classReference = reference.classScores
		m.emitPerformance(reference, windowReference)
		m.segments.addPerformance(windowReference, reference)
		if err == nil && current.classification != nil {
			m.emitLabelDrift(reference.classification.Confusion, current.classification.Confusion)
		}
	}
	if err == nil {
		err = refErr
	}
	return err
}

// perf is one window's join of predictions with labels: one of the two is
// set, by task.
type perf struct {
	classification *chquery.Classification
	regression     *chquery.Regression
	classScores    *chquery.ClassScores // multiclass with scores (estimate_multiclass.go)
	segments       *chquery.Segments    // the segment values the join counted, if any
}

func (p perf) labels() chquery.Labels {
	if p.regression != nil {
		return p.regression.Labels
	}
	return p.classification.Labels
}

// joinLabels runs the task's performance query over w, counting segs too
// when not nil.
func (m *model) joinLabels(ctx context.Context, w chquery.Window, name string, segs *chquery.Segments) (perf, error) {
	sampling, err := m.sampling(ctx)
	if err != nil {
		return perf{}, err
	}
	client := m.client()
	src, err := joinSource(ctx, client, m.Model, chquery.Source{Window: w, Sampling: sampling, Segments: segs}, name)
	if err != nil {
		return perf{}, err
	}
	if m.Task == config.TaskRegression {
		r, err := client.Regression(ctx, m.Model, src, name)
		return perf{regression: &r, segments: src.Segments}, err
	}
	c, err := client.Classification(ctx, m.Model, src, name)
	if err != nil {
		return perf{}, err
	}
	return perf{classification: &c, classScores: c.ClassScores, segments: src.Segments}, nil
}

// joinSource completes src for m's performance join: how it meets the
// labels on these tables (Client.Join), and whether its label side is
// filtered (Client.FilterLabels).
func joinSource(ctx context.Context, client *chquery.Client, m *config.Model, src chquery.Source, name string) (chquery.Source, error) {
	plan, err := client.Join(ctx, m, name)
	if err != nil {
		return src, err
	}
	src.Join, src.ReadOnce = plan.Strategy, plan.ReadOnce
	return client.FilterLabels(ctx, m, src, name)
}

// emitPerformance reports the task's quality metrics for one window.
func (m *model) emitPerformance(p perf, window string) {
	if r := p.regression; r != nil {
		rep := stats.Regress(r.Sums)
		m.out.gauge(maeDesc, rep.MAE, m.Name, window)
		m.out.gauge(rmseDesc, rep.RMSE, m.Name, window)
		m.out.gauge(mapeDesc, rep.MAPE, m.Name, window)
		m.out.gauge(r2Desc, rep.R2, m.Name, window)
		return
	}
	c := p.classification
	rep := stats.Classify(c.Confusion)
	m.out.gauge(accuracyDesc, rep.Accuracy, m.Name, window)
	for _, a := range []struct {
		name string
		avg  stats.Average
	}{{"macro", rep.Macro}, {"weighted", rep.Weighted}, {"micro", rep.Micro}} {
		m.out.gauge(precisionDesc, a.avg.Precision, m.Name, window, a.name)
		m.out.gauge(recallDesc, a.avg.Recall, m.Name, window, a.name)
		m.out.gauge(f1Desc, a.avg.F1, m.Name, window, a.name)
	}
	if m.Task == config.TaskBinary && m.Predictions.Score != "" {
		m.out.gauge(rocAUCDesc, stats.ROCAUC(c.Scores), m.Name, window)
		m.out.gauge(logLossDesc, stats.MeanOf(c.LogLossSum, c.ScoreRows), m.Name, window)
		m.out.gauge(brierDesc, stats.MeanOf(c.BrierSum, c.ScoreRows), m.Name, window)
	}
	m.emitClassScores(p, window)
	if window == windowCurrent {
		m.emitClasses(c.Confusion, rep)
	}
}

// emitLabelDrift compares the class proportions of the labels (binned by
// stats.BinLabels), when both windows have min_samples labels.
func (m *model) emitLabelDrift(ref, cur stats.Confusion) {
	b := stats.BinLabels(ref, cur, m.Settings.MaxClasses)
	if b.ReferenceRows < float64(m.Settings.MinSamples) || b.CurrentRows < float64(m.Settings.MinSamples) {
		return
	}
	m.out.gauge(labelPSIDesc, stats.PSI(b.Reference, b.Current), m.Name)
	m.out.gauge(labelJSDesc, stats.JSDivergence(b.Reference, b.Current), m.Name)
}

// emitClasses reports per-class metrics and the confusion matrix for the
// max_classes most frequent classes; the rest fold into "__other__" so that a
// model with unbounded labels cannot explode the series count.
func (m *model) emitClasses(conf stats.Confusion, rep stats.ClassificationReport) {
	kept := stats.TopClasses(conf, m.Settings.MaxClasses)
	for _, class := range kept {
		cs := rep.Classes[class]
		m.out.gauge(classPrecisionDesc, cs.Precision, m.Name, class)
		m.out.gauge(classRecallDesc, cs.Recall, m.Name, class)
		m.out.gauge(classF1Desc, cs.F1, m.Name, class)
	}
	capped := conf.Capped(kept, stats.OtherCategory)
	for _, actual := range sortedKeys(capped) {
		row := capped[actual]
		for _, predicted := range sortedKeys(row) {
			m.out.gauge(confusionDesc, row[predicted], m.Name, actual, predicted)
		}
	}
}
