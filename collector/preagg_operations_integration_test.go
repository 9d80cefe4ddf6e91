package collector

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// A model whose operations are read from the aggregates: the views also
// list its timestamp (Unix seconds), latency and error columns, as
// deploy/clickhouse/preaggregate.sql shows.
var preaggOpsSchema = append([]string{
	`CREATE TABLE IF NOT EXISTS pao_preds (ts DateTime, request_id String, model String, prediction String, x Float64,
	  latency_ms Nullable(Float64), failed UInt8, model_version String) ENGINE = MergeTree ORDER BY (model, ts)`},
	preaggDDL("pao", "pao_preds",
		`['x', 'ts', 'latency_ms', 'failed'] AS feature,
		 [ifNull(toFloat64(x), nan), toFloat64(toUnixTimestamp(ts)), ifNull(toFloat64(latency_ms), nan),
		  if(ifNull(failed, 0) != 0, 1, nan)] AS value`,
		`['prediction'] AS feature, [toNullable(toString(prediction))] AS value`)...)

// A reference day; the current hour [11:00, 12:00) of 2026-06-01 with every
// 7th prediction failed, every 10th latency NULL and the version changing
// from v1 to v2 at 11:40; and one prediction after now (12:00:01, failed,
// version v3), which must not count.
var preaggOpsSeed = []string{
	`INSERT INTO pao_preds SELECT toDateTime(1777593600 + intDiv(number * 86400, 5000)), toString(number), 'ops',
	  ['no', 'yes'][number % 2 + 1], number % 17, 20 + number % 13, 0, 'v0' FROM numbers(5000)`,
	`INSERT INTO pao_preds SELECT toDateTime(1780311600 + intDiv(number * 3600, 4000)), toString(number), 'ops',
	  ['no', 'yes'][number % 2 + 1], number % 19, if(number % 10 = 0, NULL, 5 + (number * 37 % 1000) / 10),
	  toUInt8(number % 7 = 0), if(number < 2667, 'v1', 'v2') FROM numbers(4000)`,
	`INSERT INTO pao_preds SELECT toDateTime(1780315201), 'future', 'ops', 'yes', 1, 12, 1, 'v3'`,
}

const preaggOpsConfig = `
clickhouse: {addr: [%q]}
defaults: {window: 1h, delay: 0s, min_samples: 100}
models:
  - name: ops
    task: binary_classification
    positive_class: "yes"
    predictions: {table: pao_preds, timestamp: ts, id: request_id, model_column: model, prediction: prediction,
                  latency: latency_ms, error: failed, version_column: model_version}
    features:
      - {name: x, type: numeric}
    reference: {from: 2026-05-01T00:00:00Z, to: 2026-05-02T00:00:00Z}
%s`

// With operations read from the aggregates, a scrape reports the same
// volume, freshness, errors and version as a full scan, and latency
// quantiles from the t-digest close to the full scan's.
func TestPreaggregatedOperationsMatchFullScan(t *testing.T) {
	ctx := context.Background()
	if err := server.Exec(ctx, preaggOpsSchema...); err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, preaggOpsSeed...); err != nil {
		t.Fatal(err)
	}
	full := gather(t, loadTarget(t, fmt.Sprintf(preaggOpsConfig, server.Addr(), "")), NewCounters(), 30*time.Second)
	pre := gather(t, loadTarget(t, fmt.Sprintf(preaggOpsConfig, server.Addr(),
		"    preaggregated: {table: pao_aggregates, interval: 1m, operations: true}\n")), NewCounters(), 30*time.Second)
	if full[`mlmon_scrape_success{model="ops"}`] != 1 || pre[`mlmon_scrape_success{model="ops"}`] != 1 {
		t.Fatalf("scrape failed: full %v, preaggregated %v", full, pre)
	}
	// Worked by hand from the seed: 4000 rows in the hour, errors at
	// numbers 0, 7, …, 3997 (572 of them), newest at 11:59:59 (number
	// 3999), version v2.
	exact := map[string]float64{
		`mlmon_predictions{model="ops",window="current"}`:                         4000,
		`mlmon_prediction_rate{model="ops"}`:                                      4000.0 / 3600,
		`mlmon_prediction_error_ratio{model="ops"}`:                               572.0 / 4000,
		`mlmon_last_prediction_timestamp_seconds{model="ops"}`:                    1780315199,
		`mlmon_model_info{model="ops",task="binary_classification",version="v2"}`: 1,
	}
	for k, want := range exact {
		if got, ok := full[k]; !ok || math.Abs(got-want) > 1e-12 {
			t.Errorf("full scan %s = %v (present %v), want %v", k, got, ok, want)
		}
		if got, ok := pre[k]; !ok || math.Abs(got-want) > 1e-12 {
			t.Errorf("preaggregated %s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	for _, q := range []string{"0.5", "0.95", "0.99"} {
		k := fmt.Sprintf(`mlmon_prediction_latency_seconds{model="ops",quantile=%q}`, q)
		got, want := pre[k], full[k]
		if want == 0 || math.Abs(got-want) > 0.02*want {
			t.Errorf("%s = %v, full scan %v (want within 2%%)", k, got, want)
		}
	}
	// Everything else the scrape reports is the same either way.
	for k, want := range full {
		if strings.Contains(k, "clickhouse_") || strings.Contains(k, "duration_seconds") || strings.Contains(k, "latency_seconds") {
			continue
		}
		if got, ok := pre[k]; !ok || (got != want && !numericDrift(k) && !strings.HasPrefix(k, "mlmon_feature_")) {
			t.Errorf("%s = %v (present %v), full scan %v", k, got, ok, want)
		}
	}

	// A view that does not list the error column fails the scrape with a
	// message naming it, rather than reporting no errors.
	broken := gather(t, loadTarget(t, strings.Replace(fmt.Sprintf(preaggOpsConfig, server.Addr(),
		"    preaggregated: {table: pao_aggregates, interval: 1m, operations: true}\n"), "error: failed", "error: x", 1)), NewCounters(), 30*time.Second)
	if broken[`mlmon_scrape_success{model="ops"}`] != 0 {
		t.Errorf("an error column encoded as a plain number should fail the scrape: %v", broken)
	}
}
