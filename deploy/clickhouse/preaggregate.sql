-- Pre-aggregation for mlmon (runs on ClickHouse 18.16 and current releases),
-- after schema.sql. For predictions too many to scan on every scrape: the
-- materialized views below keep, per model, column and minute, mergeable
-- aggregate states, and a model with
--
--     preaggregated: {table: mlmon_feature_aggregates, interval: 1m}
--
-- in mlmon.yml has its current drift window merged from those states: a day
-- of a model is 1440 rows per column instead of every prediction of the day.
-- The reference stays a full scan of the predictions (computed once and
-- cached). docs/preaggregation.md says what is exact and what estimated.
--
-- One table serves every model and any number of columns (long format: one
-- row per model, column and interval). Its column names are what mlmon
-- reads: keep them. Per column:
--   rows        the predictions (countState)
--   present     values not NULL, and for numbers not NaN or Inf either
--   sketch      t-digest of the finite values (numeric columns)
--   min_value, max_value   exact range of the finite values (numeric)
--   categories  rows per cityHash64 of the value (categorical: 18.16's
--               sumMap needs numeric keys); a 64-bit hash collision between
--               two values of one column is the only way a count can be off
--
-- With `operations: true` in the model's `preaggregated:` the operations
-- metrics (volume, freshness, latency, errors) come from this table too, and
-- a scrape reads prediction rows only for the label join (and the newest two
-- intervals for the version). The numeric view then also lists the
-- timestamp column as toFloat64(toUnixTimestamp(ts)) (its rows are the
-- predictions, its maximum the newest), the latency column like any numeric
-- column, and the error column as if(ifNull(is_error, 0) != 0, 1, nan)
-- (its present values are the errors), each under its name in mlmon.yml, as
-- the demo's views below do.
--
-- Adapting it to your table: one view for numeric columns and one for
-- categorical ones, each listing columns in two arrays of the same length:
-- the names (`feature`, the column's name in the predictions table, exactly
-- as mlmon.yml names the column) and the values. List every feature of the
-- model and its output: `prediction` (categorical for classifiers, numeric
-- for regression) and, for binary models with a score, `score`. A column mlmon
-- asks for that a view does not list is an error of the scrape, not a silent
-- 100% missing. Numeric values are written ifNull(toFloat64(col), nan),
-- categorical ones toNullable(toString(col)): NULL, NaN and Inf then count as
-- missing exactly as the full scan counts them. `model` is the model column,
-- or the model's name as a constant for a table of one model (see eta below).
--
-- The interval: intDiv(toUInt32(ts), 60) * 60 starts an interval every 60
-- seconds of Unix time, whatever the server's time zone. Use another length
-- (300 for 5m) in both views and set the same `interval` in mlmon.yml: it is
-- the resolution of the window's edges. mlmon rounds both edges of the window
-- down to a multiple of it and merges the intervals that start in the rounded
-- window, so the window keeps its length, starts up to one interval early and
-- leaves out the interval still being written. The interval must divide the
-- model's window.
--
-- A view sees only rows inserted after it exists. To backfill older rows,
-- run the view's SELECT as INSERT INTO mlmon_feature_aggregates SELECT ...
-- with WHERE ts < (the view's creation time) added before ARRAY JOIN.
-- Merging happens in the background and at query time (mlmon always
-- merges), so partly merged parts are never wrong, only a little slower.
-- Old intervals are dropped by partition (ALTER TABLE ... DROP PARTITION),
-- or with a TTL on interval_start on releases from 19.6.

CREATE TABLE IF NOT EXISTS mlmon_feature_aggregates
(
    model          String,
    feature        String,
    interval_start DateTime,
    rows           AggregateFunction(count),
    present        AggregateFunction(sum, UInt64),
    sketch         AggregateFunction(quantilesTDigest(0.5), Float64),
    min_value      AggregateFunction(min, Float64),
    max_value      AggregateFunction(max, Float64),
    categories     AggregateFunction(sumMap, Array(UInt64), Array(UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(interval_start)
ORDER BY (model, feature, interval_start);

-- The demo's churn and intent models (schema.sql's predictions table).
-- Each view fills the other kind's states with empty ones (an -If that is
-- never true): 18.16 wants every column of the table from a view.
CREATE MATERIALIZED VIEW IF NOT EXISTS mlmon_feature_aggregates_numeric
TO mlmon_feature_aggregates
AS SELECT
    model,
    feature,
    toDateTime(intDiv(toUInt32(ts), 60) * 60) AS interval_start,
    countState() AS rows,
    sumState(toUInt64(isFinite(value))) AS present,
    quantilesTDigestStateIf(0.5)(value, isFinite(value)) AS sketch,
    minStateIf(value, isFinite(value)) AS min_value,
    maxStateIf(value, isFinite(value)) AS max_value,
    sumMapStateIf([toUInt64(0)], [toUInt64(0)], 0) AS categories
FROM predictions
ARRAY JOIN
    ['age', 'tenure_months', 'monthly_charges', 'score', 'ts', 'latency_ms', 'is_error'] AS feature,
    [ifNull(toFloat64(age), nan), ifNull(toFloat64(tenure_months), nan),
     ifNull(toFloat64(monthly_charges), nan), ifNull(toFloat64(score), nan),
     toFloat64(toUnixTimestamp(ts)), ifNull(toFloat64(latency_ms), nan),
     if(ifNull(is_error, 0) != 0, 1, nan)] AS value
GROUP BY model, feature, interval_start;

CREATE MATERIALIZED VIEW IF NOT EXISTS mlmon_feature_aggregates_categorical
TO mlmon_feature_aggregates
AS SELECT
    model,
    feature,
    toDateTime(intDiv(toUInt32(ts), 60) * 60) AS interval_start,
    countState() AS rows,
    sumState(toUInt64(isNotNull(value))) AS present,
    quantilesTDigestStateIf(0.5)(toFloat64(0), 0) AS sketch,
    minStateIf(toFloat64(0), 0) AS min_value,
    maxStateIf(toFloat64(0), 0) AS max_value,
    sumMapStateIf([cityHash64(ifNull(value, ''))], [toUInt64(1)], isNotNull(value)) AS categories
FROM predictions
ARRAY JOIN
    ['plan', 'region', 'prediction'] AS feature,
    [toNullable(toString(plan)), toNullable(toString(region)), toNullable(toString(prediction))] AS value
GROUP BY model, feature, interval_start;

-- The demo's eta model: a table of one model, so `model` is a constant, and
-- a regression, so its prediction is numeric.
CREATE MATERIALIZED VIEW IF NOT EXISTS mlmon_feature_aggregates_eta_numeric
TO mlmon_feature_aggregates
AS SELECT
    'eta' AS model,
    feature,
    toDateTime(intDiv(toUInt32(ts), 60) * 60) AS interval_start,
    countState() AS rows,
    sumState(toUInt64(isFinite(value))) AS present,
    quantilesTDigestStateIf(0.5)(value, isFinite(value)) AS sketch,
    minStateIf(value, isFinite(value)) AS min_value,
    maxStateIf(value, isFinite(value)) AS max_value,
    sumMapStateIf([toUInt64(0)], [toUInt64(0)], 0) AS categories
FROM eta_predictions
ARRAY JOIN
    ['distance_km', 'prediction', 'ts', 'latency_ms', 'is_error'] AS feature,
    [ifNull(toFloat64(distance_km), nan), ifNull(toFloat64(prediction), nan),
     toFloat64(toUnixTimestamp(ts)), ifNull(toFloat64(latency_ms), nan),
     if(ifNull(is_error, 0) != 0, 1, nan)] AS value
GROUP BY model, feature, interval_start;

CREATE MATERIALIZED VIEW IF NOT EXISTS mlmon_feature_aggregates_eta_categorical
TO mlmon_feature_aggregates
AS SELECT
    'eta' AS model,
    feature,
    toDateTime(intDiv(toUInt32(ts), 60) * 60) AS interval_start,
    countState() AS rows,
    sumState(toUInt64(isNotNull(value))) AS present,
    quantilesTDigestStateIf(0.5)(toFloat64(0), 0) AS sketch,
    minStateIf(toFloat64(0), 0) AS min_value,
    maxStateIf(toFloat64(0), 0) AS max_value,
    sumMapStateIf([cityHash64(ifNull(value, ''))], [toUInt64(1)], isNotNull(value)) AS categories
FROM eta_predictions
ARRAY JOIN
    ['city'] AS feature,
    [toNullable(toString(city))] AS value
GROUP BY model, feature, interval_start;
