package collector

import (
	"context"
	"strconv"

	"github.com/mlmon/mlmon/internal/chquery"
)

const (
	queryOperations = "operations"
)

// collectOperations reports volume, freshness, latency and errors over the
// current window.
func collectOperations(ctx context.Context, m *model) error {
	now := m.scrape.now
	cur := currentWindow(m.Model, now)
	var ops chquery.Operations
	err := m.query(queryOperations, func() (err error) {
		ops, err = m.scrape.target.Client.Operations(ctx, m.Model, cur, lookbackWindow(m.Model, now))
		return err
	})
	if err == nil {
		m.version = ops.Version
		m.out.gauge(predictionsDesc, float64(ops.Predictions), m.Name, windowCurrent)
		m.out.gauge(predictionRateDesc, float64(ops.Predictions)/cur.Duration().Seconds(), m.Name)
		if !ops.LastPrediction.IsZero() {
			m.out.gauge(lastPredictionDesc, float64(ops.LastPrediction.Unix()), m.Name)
		}
		for i, q := range ops.Latency {
			m.out.gauge(latencyDesc, q/1000, m.Name, strconv.FormatFloat(chquery.LatencyQuantiles[i], 'g', -1, 64))
		}
		if ops.HasErrors && ops.Predictions > 0 {
			m.out.gauge(errorRatioDesc, float64(ops.Errors)/float64(ops.Predictions), m.Name)
		}
	}

	return err
}
