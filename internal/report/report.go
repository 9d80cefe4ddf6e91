package report

import (
	"cmp"
	"math"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mlmon/mlmon/internal/config"
)

// PredictionFeature is the feature label of the model output's distribution
// in mlmon_feature_bin_ratio and in a report's Output.
const PredictionFeature = config.OutputFeature

// Distribution is one column's binned distribution in both windows, as the
// drift family computed it: the histograms a report draws and the bins
// mlmon_feature_bin_ratio exposes.
type Distribution struct {
	Feature string `json:"feature"` // PredictionFeature for the model output
	Numeric bool   `json:"numeric"`
	Bins    []Bin  `json:"bins"`
}

// Bin is one bin: numeric, the interval [Lower, Upper) (nil for −∞, +∞);
// categorical, a reference category, or every other value (Other). Each
// window's share is nil when the window has fewer than min_samples values.
type Bin struct {
	Label     string   `json:"label"`
	Lower     *float64 `json:"lower,omitempty"`
	Upper     *float64 `json:"upper,omitempty"`
	Category  string   `json:"category,omitempty"`
	Other     bool     `json:"other,omitempty"`
	Current   *float64 `json:"current"`
	Reference *float64 `json:"reference"`
}

// Report is every model's state at one scrape.
type Report struct {
	At     time.Time `json:"at"` // the scrape time the windows derive from
	Models []Model   `json:"models"`
}

// Model is one model's report. Every number is the value of the scrape's
// metric of the same meaning; nil where the metric was not emitted
// (undefined for this data).
type Model struct {
	Name          string        `json:"name"`
	Task          string        `json:"task"`
	Version       string        `json:"version"`
	ScrapeSuccess bool          `json:"scrape_success"`
	Predictions   Pair          `json:"predictions"`
	Labeled       *float64      `json:"labeled_predictions"`
	LabelCoverage *float64      `json:"label_coverage_ratio"`
	PSIMax        float64       `json:"psi_max"` // the alert threshold the page marks drift by
	Performance   []Performance `json:"performance"`
	Confusion     *Confusion    `json:"confusion_matrix,omitempty"`
	Features      []Feature     `json:"features"` // ranked by PSI, highest first
	Output        *Feature      `json:"output,omitempty"`
	Drifting      int           `json:"drifting_features"` // PSI above PSIMax and its critical value
}

// Pair is a value in the current and the reference window.
type Pair struct {
	Current   *float64 `json:"current"`
	Reference *float64 `json:"reference"`
}

// Performance is one performance metric: realised over the performance
// window and the reference, and estimated without labels where the model
// has the estimate.
type Performance struct {
	Metric    string   `json:"metric"`
	Average   string   `json:"average,omitempty"`
	Current   *float64 `json:"current"`
	Reference *float64 `json:"reference"`
	Estimated *float64 `json:"estimated"`
}

// Confusion is the performance window's confusion matrix: Counts[i][j]
// rows of actual class Classes[i] predicted as Classes[j].
type Confusion struct {
	Classes []string    `json:"classes"`
	Counts  [][]float64 `json:"counts"`
}

// Feature is one feature's drift and data quality.
type Feature struct {
	Name         string        `json:"name"`
	Type         string        `json:"type"` // numeric | categorical
	PSI          *float64      `json:"psi"`
	PSICritical  *float64      `json:"psi_critical_value"`
	JS           *float64      `json:"js_divergence"`
	KS           *float64      `json:"ks_statistic"`
	Wasserstein  *float64      `json:"wasserstein"`
	Chi2P        *float64      `json:"chi2_p_value"`
	Samples      Pair          `json:"samples"`
	Missing      Pair          `json:"missing_ratio"`
	OutOfRange   *float64      `json:"out_of_range_ratio"`
	Unseen       *float64      `json:"unseen_category_ratio"`
	Drifting     bool          `json:"drifting"`
	Distribution *Distribution `json:"distribution,omitempty"`
}

// Build assembles the report of one scrape from the metric families it
// gathered and the distributions it recorded per model. cfg is the
// configuration the scrape ran with: it orders the models and says which
// features are numeric.
func Build(cfg *config.Config, at time.Time, mfs []*dto.MetricFamily, dists map[string][]Distribution) Report {
	idx := index(mfs)
	r := Report{At: at.UTC(), Models: []Model{}}
	for i := range cfg.Models {
		r.Models = append(r.Models, buildModel(&cfg.Models[i], idx, dists[cfg.Models[i].Name]))
	}
	return r
}

// defaultPSIMax is the rules' default for the psi_max threshold.
const defaultPSIMax = 0.2

func buildModel(m *config.Model, idx metrics, dists []Distribution) Model {
	name := m.Name
	out := Model{Name: name, Task: string(m.Task), Features: []Feature{}, Performance: []Performance{}, PSIMax: defaultPSIMax}
	if v := idx.get("mlmon_alert_threshold", "model", name, "threshold", "psi_max"); v != nil {
		out.PSIMax = *v
	}
	if s := idx.get("mlmon_scrape_success", "model", name); s != nil {
		out.ScrapeSuccess = *s == 1
	}
	if l := idx.labels("mlmon_model_info", "model", name); l != nil {
		out.Version = l["version"]
	}
	out.Predictions = Pair{idx.get("mlmon_predictions", "model", name, "window", "current"),
		idx.get("mlmon_predictions", "model", name, "window", "reference")}
	out.Labeled = idx.get("mlmon_labeled_predictions", "model", name)
	out.LabelCoverage = idx.get("mlmon_label_coverage_ratio", "model", name)

	for _, p := range performanceMetrics {
		for _, avg := range p.averages {
			row := Performance{Metric: p.name, Average: avg}
			lbl := []string{"model", name}
			if avg != "" {
				lbl = append(lbl, "average", avg)
			}
			row.Current = idx.get("mlmon_"+p.metric, append(lbl, "window", "current")...)
			row.Reference = idx.get("mlmon_"+p.metric, append(lbl, "window", "reference")...)
			if p.estimated != "" {
				row.Estimated = idx.get("mlmon_"+p.estimated, lbl...)
			}
			if row.Current != nil || row.Reference != nil || row.Estimated != nil {
				out.Performance = append(out.Performance, row)
			}
		}
	}
	out.Confusion = confusion(idx, name)

	byFeature := map[string]*Distribution{}
	for i := range dists {
		byFeature[dists[i].Feature] = &dists[i]
	}
	for _, f := range m.Features {
		ft := feature(idx, name, f.Name, string(f.Type), out.PSIMax)
		ft.Distribution = byFeature[f.Name]
		if ft.Drifting {
			out.Drifting++
		}
		out.Features = append(out.Features, ft)
	}
	slices.SortStableFunc(out.Features, func(a, b Feature) int {
		// Highest PSI first; features without a PSI last, in config order.
		switch {
		case a.PSI == nil && b.PSI == nil:
			return 0
		case a.PSI == nil:
			return 1
		case b.PSI == nil:
			return -1
		}
		return cmp.Compare(*b.PSI, *a.PSI)
	})
	if d := byFeature[PredictionFeature]; d != nil || idx.get("mlmon_prediction_psi", "model", name) != nil {
		o := &Feature{Name: PredictionFeature, Type: "categorical", Distribution: d}
		if d != nil && d.Numeric {
			o.Type = "numeric"
		}
		o.PSI = idx.get("mlmon_prediction_psi", "model", name)
		o.JS = idx.get("mlmon_prediction_js_divergence", "model", name)
		out.Output = o
	}
	return out
}

func feature(idx metrics, model, name, typ string, psiMax float64) Feature {
	l := []string{"model", model, "feature", name}
	g := func(metric string, extra ...string) *float64 {
		return idx.get(metric, append(slices.Clone(l), extra...)...)
	}
	f := Feature{Name: name, Type: typ,
		PSI: g("mlmon_feature_psi"), PSICritical: g("mlmon_feature_psi_critical_value"),
		JS: g("mlmon_feature_js_divergence"), KS: g("mlmon_feature_ks_statistic"),
		Wasserstein: g("mlmon_feature_wasserstein"), Chi2P: g("mlmon_feature_chi2_p_value"),
		Samples:    Pair{g("mlmon_feature_samples", "window", "current"), g("mlmon_feature_samples", "window", "reference")},
		Missing:    Pair{g("mlmon_feature_missing_ratio", "window", "current"), g("mlmon_feature_missing_ratio", "window", "reference")},
		OutOfRange: g("mlmon_feature_out_of_range_ratio"), Unseen: g("mlmon_feature_unseen_category_ratio"),
	}
	if f.PSI != nil && *f.PSI > psiMax && (f.PSICritical == nil || *f.PSI > *f.PSICritical) {
		f.Drifting = true
	}
	return f
}

// performanceMetrics are the rows of a report's performance table: the
// metric's name, its family, its label-free estimate's family and its
// averages ("" for none).
var performanceMetrics = []struct {
	name, metric, estimated string
	averages                []string
}{
	{"accuracy", "accuracy_ratio", "estimated_accuracy_ratio", []string{""}},
	{"precision", "precision_ratio", "estimated_precision_ratio", []string{"macro", "weighted", "micro"}},
	{"recall", "recall_ratio", "estimated_recall_ratio", []string{"macro", "weighted", "micro"}},
	{"f1", "f1_score", "estimated_f1_score", []string{"macro", "weighted", "micro"}},
	{"roc_auc", "roc_auc", "estimated_roc_auc", []string{""}},
	{"log_loss", "log_loss", "", []string{""}},
	{"brier_score", "brier_score", "", []string{""}},
	{"mae", "mae", "", []string{""}},
	{"rmse", "rmse", "", []string{""}},
	{"mape", "mape_ratio", "", []string{""}},
	{"r2", "r2", "", []string{""}},
}

func confusion(idx metrics, model string) *Confusion {
	var classes []string
	cells := map[[2]string]float64{}
	for _, s := range idx["mlmon_confusion_matrix"] {
		if s.labels["model"] != model {
			continue
		}
		a, p := s.labels["actual"], s.labels["predicted"]
		cells[[2]string{a, p}] = s.value
		for _, c := range []string{a, p} {
			if !slices.Contains(classes, c) {
				classes = append(classes, c)
			}
		}
	}
	if len(classes) == 0 {
		return nil
	}
	slices.Sort(classes)
	c := &Confusion{Classes: classes, Counts: make([][]float64, len(classes))}
	for i, a := range classes {
		c.Counts[i] = make([]float64, len(classes))
		for j, p := range classes {
			c.Counts[i][j] = cells[[2]string{a, p}]
		}
	}
	return c
}

// metrics indexes a gather's gauge samples by family name.
type metrics map[string][]sample

type sample struct {
	labels map[string]string
	value  float64
}

func index(mfs []*dto.MetricFamily) metrics {
	idx := metrics{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s := sample{labels: map[string]string{}, value: math.NaN()}
			for _, lp := range m.GetLabel() {
				s.labels[lp.GetName()] = lp.GetValue()
			}
			switch {
			case m.Gauge != nil:
				s.value = m.Gauge.GetValue()
			case m.Counter != nil:
				s.value = m.Counter.GetValue()
			case m.Untyped != nil:
				s.value = m.Untyped.GetValue()
			}
			idx[mf.GetName()] = append(idx[mf.GetName()], s)
		}
	}
	return idx
}

// labels returns the labels of the first sample of name whose labels
// include the pairs kv (name, value, name, value, …).
func (idx metrics) labels(name string, kv ...string) map[string]string {
next:
	for _, s := range idx[name] {
		for i := 0; i+1 < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				continue next
			}
		}
		return s.labels
	}
	return nil
}

// get returns the value of the sample of name with exactly the labels kv,
// nil when the scrape did not emit it.
func (idx metrics) get(name string, kv ...string) *float64 {
next:
	for _, s := range idx[name] {
		if len(s.labels) != len(kv)/2 {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if v, ok := s.labels[kv[i]]; !ok || v != kv[i+1] {
				continue next
			}
		}
		if math.IsNaN(s.value) {
			return nil
		}
		v := s.value
		return &v
	}
	return nil
}
