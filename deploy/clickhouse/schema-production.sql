-- Production DDL for mlmon's tables, for current ClickHouse releases (TTL
-- needs 19.6 or later: the 18.16 demo uses schema.sql). The tables and
-- columns are those of schema.sql, in a database of their own, so that
-- deploy/kubernetes/mlmon.yml reads them unchanged and the read-only user of
-- users.d/mlmon.xml and mlmon-user.sql is granted exactly this database.
-- Tests: clickhouse_test.go keeps the columns in step with schema.sql,
-- which it runs on a real 18.16 server and scrapes with that configuration
-- as that user; chdb_test.go (go test -tags chdb, after
-- scripts/install-chdb.sh) runs this file on a current engine.
--
-- Your own tables need not look like these: mlmon reads any table whose
-- columns its configuration names. What matters for the cost of a scrape:
--
--  * predictions ORDER BY (model, ts). Every mlmon query filters one model
--    and a time range (WHERE model = ? AND ts >= ? AND ts < ?), which is a
--    prefix of this key, so ClickHouse reads only the granules of that model
--    in that window, however many models share the table. A table that
--    holds a single model (eta_predictions) is ordered by ts alone.
--  * PARTITION BY day. Windows are hours to days: whole partitions outside
--    them are never opened, and the TTL drops expired days as whole parts.
--  * ground_truth ORDER BY request_id. Labels are read by arrival time (only
--    labels that arrived after the window's start count, so the daily
--    partitions prune by ts) and then deduplicated per request id (GROUP BY
--    request_id, the newest label wins) and joined to the predictions on it.
--    Sorting by the id makes that aggregation cheap and stores the id
--    column compactly. A label correction is a new row: nothing is updated.
--  * The TTL deletes predictions and labels after 90 days. A fixed
--    reference range (reference: {from, to} in mlmon.yml) inside a table
--    with a TTL disappears once it is older than the TTL, and drift then
--    stops being computed: use a rolling reference (reference: {offset: 1w},
--    as deploy/kubernetes/mlmon.yml does), a reference table (the training
--    set), or a TTL longer than the reference's age.
--  * LowCardinality(String) for columns with few distinct values (model,
--    version, class labels, categorical features): smaller and faster to
--    group by. Not for request_id, which is unique per row.
--
-- On a cluster: add ON CLUSTER, use ReplicatedMergeTree, and a Distributed
-- table over the local ones. mlmon reads a Distributed table exactly as a
-- local one. Sampling (sample: in mlmon.yml) reads less with a sampling key,
-- see the commented alternative on predictions below.

CREATE DATABASE IF NOT EXISTS ml;

CREATE TABLE IF NOT EXISTS ml.predictions
(
    ts              DateTime CODEC(Delta, ZSTD(1)),  -- event time of the prediction, UTC
    request_id      String CODEC(ZSTD(1)),           -- joins ground_truth.request_id
    model           LowCardinality(String),          -- several models share this table
    model_version   LowCardinality(String),
    prediction      LowCardinality(String),          -- the predicted class
    score           Nullable(Float64),               -- probability of the positive class (binary)
    latency_ms      Float64,
    is_error        UInt8,
    -- One column per feature, as logged at prediction time.
    age             Float64,
    tenure_months   UInt16,
    monthly_charges Nullable(Float64),
    plan            LowCardinality(String),
    region          LowCardinality(Nullable(String)),
    -- A multiclass model's probability of each class (scores: in mlmon.yml),
    -- one column per class; NULL on other models' rows.
    p_billing       Nullable(Float64),
    p_tech_support  Nullable(Float64),
    p_sales         Nullable(Float64),
    p_cancel        Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (model, ts)
-- With sampling (sample: 0.1 in mlmon.yml), a sampling key lets ClickHouse
-- read about a tenth of the data instead of filtering every row by a hash of
-- the id. The key must be part of the sorting key, after the time:
--   ORDER BY (model, toStartOfHour(ts), cityHash64(request_id))
--   SAMPLE BY cityHash64(request_id)
TTL ts + INTERVAL 90 DAY
SETTINGS ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS ml.ground_truth
(
    request_id String CODEC(ZSTD(1)),
    label      LowCardinality(String),              -- the true class
    ts         DateTime CODEC(Delta, ZSTD(1))       -- when the label arrived
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY request_id
TTL ts + INTERVAL 90 DAY
SETTINGS ttl_only_drop_parts = 1;

-- A regression model in a table of its own: no model column, ordered by time.
CREATE TABLE IF NOT EXISTS ml.eta_predictions
(
    ts          DateTime CODEC(Delta, ZSTD(1)),
    request_id  String CODEC(ZSTD(1)),
    prediction  Float64,                            -- predicted minutes
    latency_ms  Float64,
    is_error    UInt8,
    distance_km Float64,
    hour        UInt8,
    city        LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY ts
TTL ts + INTERVAL 90 DAY
SETTINGS ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS ml.eta_ground_truth
(
    request_id String CODEC(ZSTD(1)),
    label      Float64,                             -- actual minutes
    ts         DateTime CODEC(Delta, ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY request_id
TTL ts + INTERVAL 90 DAY
SETTINGS ttl_only_drop_parts = 1;
