package chquery

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/mlmon/mlmon/internal/config"
)

// LatencyQuantiles are the quantiles of mlmon_prediction_latency_seconds.
var LatencyQuantiles = []float64{0.5, 0.95, 0.99}

// Operations holds one model's volume, freshness and operational aggregates
// over the current window.
type Operations struct {
	Predictions uint64 // rows in the current window
	// LastPrediction is the newest event time in the lookback; zero when the
	// lookback has no row.
	LastPrediction time.Time
	// Latency holds milliseconds at LatencyQuantiles; nil without a latency
	// column or without a finite latency in the window.
	Latency        []float64
	LatencySamples uint64
	// Errors counts rows whose error flag is set; meaningful only when the
	// model has an error column (HasErrors).
	Errors    uint64
	HasErrors bool
	Version   string // latest version seen in the window; "" when unknown
}

// OperationsQuery counts the current window and reads freshness over the
// longer lookback in the same pass, so a model that stopped predicting still
// reports when it last did.
//
// distributed: the predictions table is Distributed (see aggregateRows).
func OperationsQuery(m *config.Model, current, lookback Window, distributed bool) (Query, error) {
	p := m.Predictions
	var ids identifiers
	ts := ids.col(p.Timestamp)
	inner := []string{ts + " AS mlmon_ts"}
	outer := []string{
		"countIf(mlmon_cur) AS predictions",
		"count() AS lookback_rows",
		"toUInt64(toUnixTimestamp(max(mlmon_ts))) AS last_ts",
	}
	if p.Latency != "" {
		inner = append(inner, "ifNull(toFloat64("+ids.col(p.Latency)+"), nan) AS mlmon_latency")
		outer = append(outer,
			"quantilesIf("+floatList(LatencyQuantiles)+")(mlmon_latency, mlmon_cur AND isFinite(mlmon_latency)) AS latency",
			"countIf(mlmon_cur AND isFinite(mlmon_latency)) AS latency_samples")
	} else {
		outer = append(outer, "emptyArrayFloat64() AS latency", "toUInt64(0) AS latency_samples")
	}
	if p.Error != "" {
		inner = append(inner, "toUInt8(ifNull("+ids.col(p.Error)+", 0) != 0) AS mlmon_error")
		outer = append(outer, "toUInt64(sumIf(mlmon_error, mlmon_cur)) AS errors")
	} else {
		outer = append(outer, "toUInt64(0) AS errors")
	}
	if p.VersionColumn != "" {
		inner = append(inner, "ifNull(toString("+ids.col(p.VersionColumn)+"), '') AS mlmon_version")
		outer = append(outer, "argMaxIf(mlmon_version, (mlmon_ts, mlmon_version), mlmon_cur) AS version")
	} else {
		outer = append(outer, "'' AS version")
	}
	var b sqlBuilder
	cur := ts + " >= toDateTime(?) AND " + ts + " < toDateTime(?)"
	aggregateRows(&b, &ids, m, Source{Window: lookback, Distributed: distributed}, strings.Join(outer, ", "),
		strings.Join(inner, ", ")+", ("+cur+") AS mlmon_cur", current.From.Unix(), current.To.Unix())
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("operations"), nil
}

// modelFilter restricts a shared table to the model's rows, or to those of
// models when a join serves several (Source.Models). Model names are bound,
// never spliced.
func modelFilter(b *sqlBuilder, ids *identifiers, m *config.Model, models []string) {
	if m.Predictions.ModelColumn == "" {
		return
	}
	if len(models) == 0 {
		b.add(ids.col(m.Predictions.ModelColumn)+" = ? AND ", m.Name)
		return
	}
	args := make([]any, len(models))
	for i, name := range models {
		args[i] = name
	}
	b.add(ids.col(m.Predictions.ModelColumn)+" IN (?"+strings.Repeat(", ?", len(models)-1)+") AND ", args...)
}

// Operations runs OperationsQuery.
func (c *Client) Operations(ctx context.Context, m *config.Model, current, lookback Window) (Operations, error) {
	src, err := c.sourceEngine(ctx, m, Source{}, "operations")
	if err != nil {
		return Operations{}, err
	}
	q, err := OperationsQuery(m, current, lookback, src.Distributed)
	if err != nil {
		return Operations{}, err
	}
	var (
		ops          Operations
		lookbackRows uint64
		lastTS       uint64
		latency      []float64
	)
	err = c.QueryRow(ctx, m.Name, q, &ops.Predictions, &lookbackRows, &lastTS, &latency, &ops.LatencySamples, &ops.Errors, &ops.Version)
	if err != nil {
		return Operations{}, err
	}
	ops.fill(m, lookbackRows, lastTS, latency)
	return ops, nil
}

// fill sets what both operations queries derive the same way: the newest
// prediction (none without a row in the lookback), the latency quantiles
// (only when all are finite) and whether errors are counted.
func (ops *Operations) fill(m *config.Model, lookbackRows, lastTS uint64, latency []float64) {
	if lookbackRows > 0 {
		ops.LastPrediction = time.Unix(int64(lastTS), 0)
	}
	if ops.LatencySamples > 0 && len(latency) == len(LatencyQuantiles) && allFinite(latency) {
		ops.Latency = latency
	}
	ops.HasErrors = m.Predictions.Error != ""
}

func allFinite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
