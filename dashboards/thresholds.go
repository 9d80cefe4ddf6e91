package dashboards

import (
	"github.com/grafana-tools/sdk"

	"github.com/mlmon/mlmon/rules"
)

// Colours of threshold steps.
const (
	green  = "green"
	yellow = "yellow"
	red    = "red"
)

// ruleDefault is the default of an alert threshold as the rules bundle
// applies it, so that a line drawn on a panel is where the alert fires for
// a model that configures nothing. Grafana thresholds are static: a model
// that overrides one in its configuration alerts elsewhere, and the panels
// that matter most also plot the configured value.
func ruleDefault(name string) float64 {
	for _, t := range rules.Thresholds() {
		if t.Name == name && t.HasDefault {
			return t.Default
		}
	}
	// The names are constants of this package: a typo fails go generate
	// and the tests, never a user.
	panic("dashboards: no rules default for threshold " + name)
}

// steps are Grafana threshold steps; the first is the base (no value).
type steps []sdk.ThresholdStep

// highIsBad colours values from v up red.
func highIsBad(v float64) steps {
	return steps{{Color: green}, {Color: red, Value: ptr(v)}}
}

// highIsBadWarn colours values from warn yellow and from crit red.
func highIsBadWarn(warn, crit float64) steps {
	return steps{{Color: green}, {Color: yellow, Value: ptr(warn)}, {Color: red, Value: ptr(crit)}}
}

// lowIsBad colours values below v red.
func lowIsBad(v float64) steps {
	return steps{{Color: red}, {Color: green, Value: ptr(v)}}
}

// noThreshold is a single neutral step, for metrics without an alert.
func noThreshold() steps { return steps{{Color: green}} }

func (s steps) sdk() sdk.Thresholds {
	return sdk.Thresholds{Mode: "absolute", Steps: s}
}

func ptr[T any](v T) *T { return &v }
