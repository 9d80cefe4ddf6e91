-- Demo schema for mlmon (runs on ClickHouse 18.16 and current releases).
-- The local stack (deploy/local), the compose stack (deploy/compose) and the
-- demo data writer (cmd/demodata) use these tables and columns.
--
-- Predictions are ordered by (model, ts) so a scrape's per-model time-range
-- filters read only the granules they need; daily partitions let old data be
-- dropped by partition. Ground truth is ordered by request_id for the join.
--
-- For production use schema-production.sql: the same tables and columns in a
-- database of their own, with a TTL and codecs (ClickHouse 19.6 and later,
-- so not here: this file must run on 18.16) and LowCardinality strings.
-- deploy/clickhouse/clickhouse_test.go applies this file to a private 18.16 server and
-- keeps the two files' tables and columns in step.

CREATE TABLE IF NOT EXISTS predictions
(
    ts              DateTime,
    request_id      String,
    model           String,
    model_version   String,
    prediction      String,
    score           Nullable(Float64),
    latency_ms      Float64,
    is_error        UInt8,
    age             Float64,
    tenure_months   UInt16,
    monthly_charges Nullable(Float64),
    plan            String,
    region          Nullable(String),
    -- The intent model's probability of each class (NULL on other models' rows).
    p_billing       Nullable(Float64),
    p_tech_support  Nullable(Float64),
    p_sales         Nullable(Float64),
    p_cancel        Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (model, ts);

CREATE TABLE IF NOT EXISTS ground_truth
(
    request_id String,
    label      String,
    ts         DateTime
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (request_id, ts);

CREATE TABLE IF NOT EXISTS eta_predictions
(
    ts          DateTime,
    request_id  String,
    prediction  Float64,
    latency_ms  Float64,
    is_error    UInt8,
    distance_km Float64,
    hour        UInt8,
    city        String
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY ts;

CREATE TABLE IF NOT EXISTS eta_ground_truth
(
    request_id String,
    label      Float64,
    ts         DateTime
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (request_id, ts);
