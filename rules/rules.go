package rules

import (
	"fmt"
	"strings"
	"time"
)

// MinSamples is the number of rows a window needs before a drift or
// performance alert may fire. The exporter already omits drift metrics below
// its own min_samples, but that setting can be lowered per model and the
// performance metrics have no such cut-off, so the rules guard explicitly:
// a thin window must never page.
const MinSamples = 100

// RunbookBase is the runbook document; each alert links to its section, whose
// GitHub anchor is the lowercased alert name.
const RunbookBase = "https://github.com/mlmon/mlmon/blob/main/docs/runbooks.md"

// Options parameterise the bundle for a deployment.
type Options struct {
	// JobSelector is the label matcher (without braces) that selects mlmon's
	// scrape targets in `up`. It is the one place the rules must know how a
	// deployment names its scrape job.
	JobSelector string
}

// DefaultOptions are the options the committed rule files are generated with.
func DefaultOptions() Options {
	return Options{JobSelector: `job=~"mlmon.*"`}
}

// Tier is an alert tier of docs/alerting.md. It decides the severity, which is what
// Alertmanager routes on.
type Tier string

// The tiers, most urgent first.
const (
	TierCritical Tier = "critical" // page
	TierHigh     Tier = "high"     // chat and ticket
	TierMedium   Tier = "medium"   // chat
	TierLow      Tier = "low"      // no notification; dashboards and Alertmanager only
)

// Severity returns the severity label of the tier.
func (t Tier) Severity() string {
	switch t {
	case TierCritical:
		return "critical"
	case TierHigh, TierMedium:
		return "warning"
	default:
		return "info"
	}
}

// Group is a rule group. Rules of a group are evaluated in order at the same
// timestamp, so an alert placed after the recording rule it reads sees this
// evaluation's value rather than the previous one.
type Group struct {
	Name  string
	Rules []Rule
}

// Rule is a recording rule (Record set) or an alerting rule (Alert set).
type Rule struct {
	Record string
	Alert  string
	Expr   string
	// For is how long the condition must hold before the alert fires.
	For time.Duration
	// Labels and Annotations keep their order so the files read well.
	Labels      []Pair
	Annotations []Pair
}

// Pair is one label or annotation.
type Pair struct{ Name, Value string }

// alert describes an alerting rule; build turns it into a Rule with the
// labels and annotations every mlmon alert carries.
type alert struct {
	name        string
	tier        Tier
	expr        string
	hold        time.Duration // the rule's `for`, a keyword in Go
	summary     string
	description string
}

func (a alert) build() Rule {
	return Rule{
		Alert: a.name,
		Expr:  a.expr,
		For:   a.hold,
		Labels: []Pair{
			{"severity", a.tier.Severity()},
			{"tier", string(a.tier)},
			{"rules_version", Version},
		},
		Annotations: []Pair{
			{"summary", a.summary},
			{"description", a.description},
			{"runbook_url", RunbookURL(a.name)},
		},
	}
}

// RunbookURL returns the runbook section of an alert.
func RunbookURL(alertName string) string {
	return RunbookBase + "#" + strings.ToLower(alertName)
}

// Bundle returns the rule groups. It is the single source of both generated
// files.
func Bundle(opts Options) ([]Group, error) {
	if strings.TrimSpace(opts.JobSelector) == "" {
		return nil, fmt.Errorf("rules: empty job selector")
	}
	if strings.ContainsAny(opts.JobSelector, "{}") {
		return nil, fmt.Errorf("rules: job selector %q must be a matcher without braces, e.g. %s", opts.JobSelector, DefaultOptions().JobSelector)
	}
	return []Group{
		healthGroup(opts),
		operationsGroup(),
		performanceGroup(),
		driftGroup(),
		dataQualityGroup(),
		segmentsGroup(),
	}, nil
}

func alerts(as ...alert) []Rule {
	rs := make([]Rule, len(as))
	for i, a := range as {
		rs[i] = a.build()
	}
	return rs
}
