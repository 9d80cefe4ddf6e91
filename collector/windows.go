package collector

import (
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

// freshnessLookback is how far back the newest prediction is looked for, so
// that a model which stopped predicting still reports when it last did.
const freshnessLookback = 24 * time.Hour

// currentWindow is [now - delay - window, now - delay).
func currentWindow(m *config.Model, now time.Time) chquery.Window {
	to := now.Add(-m.Settings.Delay)
	return chquery.Window{From: to.Add(-m.Settings.Window), To: to}
}

// lookbackWindow covers the current window and at least freshnessLookback
// up to now.
func lookbackWindow(m *config.Model, now time.Time) chquery.Window {
	span := max(freshnessLookback, m.Settings.Window+m.Settings.Delay)
	return chquery.Window{From: now.Add(-span), To: now}
}

// performanceWindow is the labeled window: labels arrive late, so it has its
// own length and delay.
func performanceWindow(m *config.Model, now time.Time) chquery.Window {
	to := now.Add(-m.Performance.Delay)
	return chquery.Window{From: to.Add(-m.Performance.Window), To: to}
}

// referenceWindow is the drift reference within the predictions table: the
// fixed range, or the current window shifted back. nil for a reference table
// or no reference.
func referenceWindow(m *config.Model, now time.Time) *chquery.Window {
	return shifted(m, currentWindow(m, now))
}

// referencePerformanceWindow is where reference performance is measured: the
// fixed range, or the performance window shifted back. nil when the reference
// is a separate table (which has no join to the labels) or absent.
func referencePerformanceWindow(m *config.Model, now time.Time) *chquery.Window {
	return shifted(m, performanceWindow(m, now))
}

func shifted(m *config.Model, w chquery.Window) *chquery.Window {
	if m.Reference == nil {
		return nil
	}
	switch m.Reference.Kind {
	case config.ReferenceFixed:
		return &chquery.Window{From: m.Reference.From, To: m.Reference.To}
	case config.ReferenceRolling:
		return &chquery.Window{From: w.From.Add(-m.Reference.Offset), To: w.To.Add(-m.Reference.Offset)}
	}
	return nil
}
