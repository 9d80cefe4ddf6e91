package collector

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

// Volume, freshness, operations.
var (
	predictionsDesc    = desc("predictions", "Predictions logged in the window.", "model", "window")
	predictionRateDesc = desc("prediction_rate", "Predictions per second over the current window.", "model")
	lastPredictionDesc = desc("last_prediction_timestamp_seconds", "Event time of the newest prediction.", "model")
	latencyDesc        = desc("prediction_latency_seconds", "Prediction latency quantiles over the current window.", "model", "quantile")
	errorRatioDesc     = desc("prediction_error_ratio", "Share of the current window's predictions flagged as errors.", "model")
)

const queryOperations = "operations"

var operationsFamily = family{
	name:        "operations",
	descs:       []*prometheus.Desc{predictionsDesc, predictionRateDesc, lastPredictionDesc, latencyDesc, errorRatioDesc},
	queries:     func(*config.Model) []string { return []string{queryOperations} },
	collect:     collectOperations,
	independent: true,
}

// collectOperations reports volume, freshness, latency and errors over the
// current window.
func collectOperations(ctx context.Context, m *model) error {
	now := m.now()
	cur := currentWindow(m.Model, now)
	var ops chquery.Operations
	err := m.query(queryOperations, func() (err error) {
		if p := m.Preaggregated; p != nil && p.Operations {
			ops, err = m.client().PreaggregatedOperations(ctx, m.Model, cur, lookbackWindow(m.Model, now))
			return err
		}
		ops, err = m.client().Operations(ctx, m.Model, cur, lookbackWindow(m.Model, now))
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
