package chquery

import (
	"context"
	"fmt"
	"slices"

	"github.com/mlmon/mlmon/internal/config"
)

// PreaggregatedOperationsQuery reads what OperationsQuery reads, from the
// pre-aggregation table instead of the predictions, so that the operations
// of a pre-aggregated model cost the same whatever its traffic. The views
// list the model's timestamp column (as Unix seconds: its rows are the
// predictions, its maximum the newest), its latency column (a numeric
// column like any other: the t-digest gives the quantiles) and its error
// column encoded as 1 when set and NaN otherwise (its present values are
// the errors). deploy/clickhouse/preaggregate.sql shows the lines.
//
// The current window is the rounded one the drift window merges
// (PreaggregatedRange); freshness also reads the interval still being
// written, so the newest prediction is as fresh as a full scan's.
func PreaggregatedOperationsQuery(m *config.Model, current, lookback Window) (Query, error) {
	if m.Preaggregated == nil {
		return Query{}, fmt.Errorf("model %q has no preaggregated table", m.Name)
	}
	p, agg := m.Predictions, m.Preaggregated
	cur := PreaggregatedRange(current, agg.Interval)
	var ids identifiers
	var b sqlBuilder
	feature, start := ids.col(aggFeature), ids.col(aggStart)
	inCur := " AND " + start + " >= toDateTime(?) AND " + start + " < toDateTime(?))"
	curArgs := func(col string) []any { return []any{col, cur.From.Unix(), cur.To.Unix()} }

	b.add("SELECT countMergeIf("+ids.col(aggRows)+", "+feature+" = ?"+inCur+" AS predictions", curArgs(p.Timestamp)...)
	b.add(", toUInt64(maxMergeIf("+ids.col(aggMax)+", "+feature+" = ?)) AS last_ts", p.Timestamp)
	if p.Latency != "" {
		// 18.16's t-digest answers Float32: cast, as the drift digests are.
		b.add(", CAST(quantilesTDigestMergeIf("+floatList(LatencyQuantiles)+")("+ids.col(aggSketch)+", "+feature+" = ?"+inCur+" AS Array(Float64)) AS latency", curArgs(p.Latency)...)
		b.add(", sumMergeIf("+ids.col(aggPresent)+", "+feature+" = ?"+inCur+" AS latency_samples", curArgs(p.Latency)...)
	} else {
		b.add(", emptyArrayFloat64() AS latency, toUInt64(0) AS latency_samples")
	}
	if p.Error != "" {
		b.add(", sumMergeIf("+ids.col(aggPresent)+", "+feature+" = ?"+inCur+" AS errors", curArgs(p.Error)...)
		// Every value of a correctly listed error column is 1: anything
		// else is a column listed like a feature, whose values would all
		// count as errors.
		b.add(", minMergeIf("+ids.col(aggMin)+", "+feature+" = ?"+inCur+" = 1 AND maxMergeIf("+ids.col(aggMax)+", "+feature+" = ?"+inCur+" = 1 AS errors_encoded",
			append(curArgs(p.Error), curArgs(p.Error)...)...)
	} else {
		b.add(", toUInt64(0) AS errors, 1 AS errors_encoded")
	}
	// Rows per listed column over the lookback, so that a column the views
	// do not list is an error instead of a silent zero; the timestamp's,
	// first, are the lookback's predictions.
	names := operationsColumns(m)
	b.add(", [")
	for i, n := range names {
		if i > 0 {
			b.add(", ")
		}
		b.add("countMergeIf("+ids.col(aggRows)+", "+feature+" = ?)", n)
	}
	b.add("] AS listed")
	aggregatesOf(&b, &ids, m, Window{From: PreaggregatedRange(lookback, agg.Interval).From, To: lookback.To}, names)
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("operations"), nil
}

// VersionQuery reads the newest version among the predictions of the last
// two intervals before the window's end: the aggregates keep no strings,
// and two intervals of rows cost little whatever the window's length.
func VersionQuery(m *config.Model, current Window) (Query, error) {
	p := m.Predictions
	var ids identifiers
	var b sqlBuilder
	ts := ids.col(p.Timestamp)
	b.add("SELECT argMax(mlmon_version, (" + ts + ", mlmon_version)) FROM (SELECT " + ts + ", ifNull(toString(" + ids.col(p.VersionColumn) + "), '') AS mlmon_version FROM " + ids.table(p.Table) + " WHERE ")
	modelFilter(&b, &ids, m, nil)
	b.window(ts, Window{From: current.To.Add(-2 * m.Preaggregated.Interval), To: current.To})
	b.add(")")
	if ids.err != nil {
		return Query{}, ids.err
	}
	return b.query("operations"), nil
}

// operationsColumns are the columns the views must list for the operations:
// the timestamp, the latency and error columns when configured, and the
// prediction, which drift reads anyway and which tells whether the model has
// aggregates at all.
func operationsColumns(m *config.Model) []string {
	p := m.Predictions
	names := []string{p.Timestamp}
	for _, c := range []string{p.Latency, p.Error, p.Prediction} {
		if c != "" {
			names = append(names, c)
		}
	}
	return names
}

// allListed reports a column without aggregates while another has some.
func allListed(names []string, rows []uint64) error {
	if len(rows) != len(names) {
		return fmt.Errorf("%d counts for %d columns", len(rows), len(names))
	}
	if slices.Max(rows) == 0 {
		return nil // no prediction in the lookback
	}
	for i, n := range rows {
		if n == 0 {
			return unlisted(names[i], "while the model has some")
		}
	}
	return nil
}

// PreaggregatedOperations runs PreaggregatedOperationsQuery and, with a
// version column, VersionQuery.
func (c *Client) PreaggregatedOperations(ctx context.Context, m *config.Model, current, lookback Window) (Operations, error) {
	q, err := PreaggregatedOperationsQuery(m, current, lookback)
	if err != nil {
		return Operations{}, err
	}
	var (
		ops     Operations
		lastTS  uint64
		latency []float64
		encoded uint8
		listed  []uint64
	)
	if err := c.QueryRow(ctx, m.Name, q, &ops.Predictions, &lastTS, &latency, &ops.LatencySamples, &ops.Errors, &encoded, &listed); err != nil {
		return Operations{}, err
	}
	if err := allListed(operationsColumns(m), listed); err != nil {
		return Operations{}, fmt.Errorf("query %s: %s: %w", q.Name, m.Preaggregated.Table, err)
	}
	if ops.Errors > 0 && encoded != 1 {
		return Operations{}, fmt.Errorf("query %s: %s: error column %s has values other than 1 (list it as if(ifNull(%s, 0) != 0, 1, nan))",
			q.Name, m.Preaggregated.Table, m.Predictions.Error, m.Predictions.Error)
	}
	ops.fill(m, listed[0], lastTS, latency)
	if m.Predictions.VersionColumn != "" {
		vq, err := VersionQuery(m, current)
		if err != nil {
			return Operations{}, err
		}
		if err := c.QueryRow(ctx, m.Name, vq, &ops.Version); err != nil {
			return Operations{}, err
		}
	}
	return ops, nil
}
