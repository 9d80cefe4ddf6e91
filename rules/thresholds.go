package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// Threshold is a per-model alert threshold. A model sets it in its
// configuration and the exporter exposes it as
// mlmon_alert_threshold{model, threshold="<Name>"}; the rules fall back to
// Default when the model does not set it.
type Threshold struct {
	Name string
	// Default applies when the model sets no value. Without a default
	// (HasDefault false) the alert reading the threshold only fires for
	// models that set it.
	Default    float64
	HasDefault bool
}

// thresholds lists every threshold the configuration accepts (the test
// compares it with config.KnownThresholds), sorted by name.
var thresholds = []Threshold{
	{Name: "accuracy_drop_max", Default: 0.05, HasDefault: true},
	{Name: "accuracy_min"},
	{Name: "drifted_features_min", Default: 3, HasDefault: true},
	{Name: "error_ratio_max", Default: 0.01, HasDefault: true},
	{Name: "f1_min"},
	// js_max is read by dashboards only: PSI with its critical value is
	// the drift signal the alerts use, and a second divergence would page
	// twice for one drift.
	{Name: "js_max", Default: 0.1, HasDefault: true},
	{Name: "label_coverage_min", Default: 0.5, HasDefault: true},
	{Name: "label_psi_max", Default: 0.2, HasDefault: true},
	{Name: "label_staleness_max_seconds", Default: 21600, HasDefault: true},
	{Name: "latency_p99_max_seconds", Default: 0.5, HasDefault: true},
	{Name: "missing_ratio_max", Default: 0.01, HasDefault: true},
	{Name: "out_of_range_ratio_max", Default: 0.05, HasDefault: true},
	{Name: "prediction_psi_max", Default: 0.15, HasDefault: true},
	{Name: "prediction_staleness_max_seconds", Default: 900, HasDefault: true},
	{Name: "psi_max", Default: 0.2, HasDefault: true},
	{Name: "segment_accuracy_drop_max", Default: 0.1, HasDefault: true},
	{Name: "unseen_category_ratio_max", Default: 0.05, HasDefault: true},
}

// Thresholds returns every threshold with its default, sorted by name.
func Thresholds() []Threshold {
	return append([]Threshold(nil), thresholds...)
}

func lookupThreshold(name string) Threshold {
	for _, t := range thresholds {
		if t.Name == name {
			return t
		}
	}
	// The catalogue is constant: an unknown name is a typo in this package,
	// caught by the first go generate or go test, never by a user.
	panic("rules: unknown threshold " + name)
}

// compare renders `left op <threshold>` where the threshold is the model's
// configured mlmon_alert_threshold{threshold=name}, else the default.
//
// like is the selector whose series left is computed from, and extra the
// labels it has beyond `model` and the target labels (job, instance, and
// whatever the scrape config adds). The match ignores extra rather than
// using on(model), so that target labels survive into the alert and a series
// is compared with the threshold exposed by the same target: two
// environments scraping different exporters may give one model name
// different thresholds.
//
// The default is `group without (extra) (like) * default`: one series per
// model and target, carrying exactly the labels a configured threshold
// carries once `threshold` is ignored, so `or` fills in only the models
// that configure nothing. group() yields 1 whatever the value (NaN
// included), so the product is the default itself.
func compare(left, op, name, like string, extra ...string) string {
	t := lookupThreshold(name)
	configured := fmt.Sprintf("mlmon_alert_threshold{threshold=%q}", name)
	right := configured
	if t.HasDefault {
		right = strings.Join([]string{
			"(",
			"  " + configured,
			"  or ignoring (threshold)",
			fmt.Sprintf("  group without (%s) (%s) * %s", strings.Join(extra, ", "), like, formatFloat(t.Default)),
			")",
		}, "\n")
	}
	// A full slice expression, so that append copies rather than writing
	// into the caller's variadic array.
	ignored := append(extra[:len(extra):len(extra)], "threshold")
	return strings.Join([]string{
		left,
		fmt.Sprintf("  %s ignoring (%s) group_left ()", op, strings.Join(ignored, ", ")),
		indent(right, "  "),
	}, "\n")
}

// above is compare for a selector read as is.
func above(selector, name string, extra ...string) string {
	return compare(selector, ">", name, selector, extra...)
}

// below is compare with `<`, for minimums.
func below(selector, name string, extra ...string) string {
	return compare(selector, "<", name, selector, extra...)
}

// guarded keeps the series of cond whose model also satisfies guard; guard
// is matched ignoring the labels in ignore, which cond has and guard lacks
// (or the other way round).
func guarded(cond, guard string, ignore ...string) string {
	op := "and"
	if len(ignore) > 0 {
		op = fmt.Sprintf("and ignoring (%s)", strings.Join(ignore, ", "))
	}
	return strings.Join([]string{"(", indent(cond, "  "), ")", op, indent(guard, "  ")}, "\n")
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}
