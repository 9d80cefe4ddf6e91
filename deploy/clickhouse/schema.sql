-- Demo schema for mlmon (runs on ClickHouse 18.16 and current releases).
-- Predictions are ordered by (model, ts) so a scrape's per-model time-range
-- filters read only the granules they need; daily partitions let old data be
-- dropped by partition. Ground truth is ordered by request_id for the join.

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
    region          Nullable(String)
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
