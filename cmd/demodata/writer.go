package main

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// writer inserts batches with explicit column lists, the form that works on
// ClickHouse 18.16 as well as current releases.
type writer struct {
	conn driver.Conn
}

func (w *writer) write(ctx context.Context, b batch) error {
	if err := insert(ctx, w.conn, "INSERT INTO predictions (ts, request_id, model, model_version, prediction, score, latency_ms, is_error, age, tenure_months, monthly_charges, plan, region, p_billing, p_tech_support, p_sales, p_cancel)",
		b.predictions, func(p prediction) []any {
			s := make([]*float64, len(intents)) // NULL but on the intent model's rows
			for k := range p.intentScores {
				s[k] = &p.intentScores[k]
			}
			return []any{p.ts, p.id, p.model, p.version, p.prediction, p.score, p.latencyMS, p.isError, p.age, p.tenureMonths, p.monthlyCharges, p.plan, p.region, s[0], s[1], s[2], s[3]}
		}); err != nil {
		return err
	}
	if err := insert(ctx, w.conn, "INSERT INTO eta_predictions (ts, request_id, prediction, latency_ms, is_error, distance_km, hour, city)",
		b.eta, func(p etaPrediction) []any {
			return []any{p.ts, p.id, p.prediction, p.latencyMS, p.isError, p.distanceKM, p.hour, p.city}
		}); err != nil {
		return err
	}
	if err := insert(ctx, w.conn, "INSERT INTO ground_truth (request_id, label, ts)",
		b.labels, func(l label) []any { return []any{l.id, l.value, l.ts} }); err != nil {
		return err
	}
	return insert(ctx, w.conn, "INSERT INTO eta_ground_truth (request_id, label, ts)",
		b.etaLabels, func(l etaLabel) []any { return []any{l.id, l.value, l.ts} })
}

func insert[T any](ctx context.Context, conn driver.Conn, stmt string, rows []T, values func(T) []any) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, stmt)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", stmt, err)
	}
	for _, r := range rows {
		if err := batch.Append(values(r)...); err != nil {
			batch.Abort()
			return fmt.Errorf("append to %s: %w", stmt, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("send %s: %w", stmt, err)
	}
	return nil
}
