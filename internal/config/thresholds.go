package config

import (
	"math"
	"slices"
)

// KnownThresholds lists, sorted, the threshold names a model may set. Any
// other name is rejected so that a misspelt threshold cannot silently
// disable the alert that reads it.
var KnownThresholds = []string{
	"accuracy_drop_max",
	"accuracy_min",
	"drifted_features_min",
	"error_ratio_max",
	"f1_min",
	"js_max",
	"label_coverage_min",
	"label_psi_max",
	"label_staleness_max_seconds",
	"latency_p99_max_seconds",
	"missing_ratio_max",
	"out_of_range_ratio_max",
	"prediction_psi_max",
	"prediction_staleness_max_seconds",
	"psi_max",
	"segment_accuracy_drop_max",
	"unseen_category_ratio_max",
}

// knownThresholds is a private copy of KnownThresholds so that a caller
// modifying the exported slice cannot change what validation accepts.
var knownThresholds = slices.Clone(KnownThresholds)

// ratioThresholds are the thresholds that compare against a ratio in [0, 1].
// Values above 1 are rejected because they almost always mean a percentage
// was written where a fraction was expected, which would make the alert
// either always or never fire.
var ratioThresholds = map[string]bool{
	"accuracy_drop_max":         true,
	"accuracy_min":              true,
	"error_ratio_max":           true,
	"f1_min":                    true,
	"label_coverage_min":        true,
	"missing_ratio_max":         true,
	"out_of_range_ratio_max":    true,
	"segment_accuracy_drop_max": true,
	"unseen_category_ratio_max": true,
}

// thresholds reads a model's alert thresholds. Their names are checked
// against KnownThresholds rather than struct tags: the section is a map,
// and the rules' tests check the alerts' thresholds against the same list.
func (l *loader) thresholds(o *object, dst map[string]float64) {
	for _, name := range o.keys {
		f := o.fields[name]
		path := o.join(name)
		if !slices.Contains(knownThresholds, name) {
			l.add(f.key, path, "unknown threshold%s", suggest(name, knownThresholds))
			continue
		}
		if isNull(resolve(f.val)) {
			continue
		}
		x, ok := l.asFloat(f, path)
		switch {
		case !ok:
		case math.IsNaN(x) || math.IsInf(x, 0):
			l.add(f.val, path, "must be a finite number, got %s", describe(resolve(f.val)))
		case x < 0:
			l.add(f.val, path, "must not be negative, got %v", x)
		case ratioThresholds[name] && x > 1:
			l.add(f.val, path, "is a ratio and must be at most 1, got %v (write 0.05, not 5, for 5%%)", x)
		default:
			dst[name] = x
		}
	}
}
