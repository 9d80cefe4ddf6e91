-- mlmon's demo tables on a ClickHouse cluster (runs on 18.16 and current
-- releases): schema.sql and preaggregate.sql split into a local table on
-- every shard and a Distributed table over them. Run this file on EVERY
-- server of the cluster (or add ON CLUSTER to each statement where
-- distributed DDL is set up), after replacing mlmon_cluster with the name
-- of your cluster in the servers' <remote_servers>.
--
-- Generated from schema.sql and preaggregate.sql: edit those, then run
--   go test ./deploy/clickhouse -run TestClusterSQLIsDerived -update
--
-- mlmon reads the Distributed tables by the names schema.sql gives its
-- tables, so a configuration written for one server works unchanged.
--
-- Predictions and labels are sharded by the same expression of the request
-- id, cityHash64(request_id): every label lives on its prediction's shard,
-- and the exporter, which reads the sharding keys from system.tables, has
-- each shard join its own rows (ground_truth.distributed_join: auto picks
-- "local"; no label crosses the network). Shard labels by anything else and
-- it ships the window's labels to the shards instead ("global").
-- docs/cluster.md says what each costs.
--
-- Replicas: with ZooKeeper, make the local tables Replicated*MergeTree and
-- set <internal_replication>true</internal_replication>; without it,
-- MergeTree as here and internal_replication false, and the Distributed
-- table writes every replica itself.
--
-- Pre-aggregation runs on every shard, over that shard's predictions, into
-- mlmon_feature_aggregates_local; the Distributed mlmon_feature_aggregates
-- over them is what preaggregated: {table: mlmon_feature_aggregates, ...}
-- names. The aggregates table has no sharding key: mlmon only reads it.

CREATE TABLE IF NOT EXISTS predictions_local
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
    
    p_billing       Nullable(Float64),
    p_tech_support  Nullable(Float64),
    p_sales         Nullable(Float64),
    p_cancel        Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (model, ts);

CREATE TABLE IF NOT EXISTS predictions AS predictions_local
ENGINE = Distributed(mlmon_cluster, currentDatabase(), predictions_local, cityHash64(request_id));

CREATE TABLE IF NOT EXISTS ground_truth_local
(
    request_id String,
    label      String,
    ts         DateTime
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (request_id, ts);

CREATE TABLE IF NOT EXISTS ground_truth AS ground_truth_local
ENGINE = Distributed(mlmon_cluster, currentDatabase(), ground_truth_local, cityHash64(request_id));

CREATE TABLE IF NOT EXISTS eta_predictions_local
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

CREATE TABLE IF NOT EXISTS eta_predictions AS eta_predictions_local
ENGINE = Distributed(mlmon_cluster, currentDatabase(), eta_predictions_local, cityHash64(request_id));

CREATE TABLE IF NOT EXISTS eta_ground_truth_local
(
    request_id String,
    label      Float64,
    ts         DateTime
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (request_id, ts);

CREATE TABLE IF NOT EXISTS eta_ground_truth AS eta_ground_truth_local
ENGINE = Distributed(mlmon_cluster, currentDatabase(), eta_ground_truth_local, cityHash64(request_id));

CREATE TABLE IF NOT EXISTS mlmon_feature_aggregates_local
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

CREATE TABLE IF NOT EXISTS mlmon_feature_aggregates AS mlmon_feature_aggregates_local
ENGINE = Distributed(mlmon_cluster, currentDatabase(), mlmon_feature_aggregates_local);

CREATE MATERIALIZED VIEW IF NOT EXISTS mlmon_feature_aggregates_numeric
TO mlmon_feature_aggregates_local
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
FROM predictions_local
ARRAY JOIN
    ['age', 'tenure_months', 'monthly_charges', 'score', 'ts', 'latency_ms', 'is_error'] AS feature,
    [ifNull(toFloat64(age), nan), ifNull(toFloat64(tenure_months), nan),
     ifNull(toFloat64(monthly_charges), nan), ifNull(toFloat64(score), nan),
     toFloat64(toUnixTimestamp(ts)), ifNull(toFloat64(latency_ms), nan),
     if(ifNull(is_error, 0) != 0, 1, nan)] AS value
GROUP BY model, feature, interval_start;

CREATE MATERIALIZED VIEW IF NOT EXISTS mlmon_feature_aggregates_categorical
TO mlmon_feature_aggregates_local
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
FROM predictions_local
ARRAY JOIN
    ['plan', 'region', 'prediction'] AS feature,
    [toNullable(toString(plan)), toNullable(toString(region)), toNullable(toString(prediction))] AS value
GROUP BY model, feature, interval_start;

CREATE MATERIALIZED VIEW IF NOT EXISTS mlmon_feature_aggregates_eta_numeric
TO mlmon_feature_aggregates_local
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
FROM eta_predictions_local
ARRAY JOIN
    ['distance_km', 'prediction', 'ts', 'latency_ms', 'is_error'] AS feature,
    [ifNull(toFloat64(distance_km), nan), ifNull(toFloat64(prediction), nan),
     toFloat64(toUnixTimestamp(ts)), ifNull(toFloat64(latency_ms), nan),
     if(ifNull(is_error, 0) != 0, 1, nan)] AS value
GROUP BY model, feature, interval_start;

CREATE MATERIALIZED VIEW IF NOT EXISTS mlmon_feature_aggregates_eta_categorical
TO mlmon_feature_aggregates_local
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
FROM eta_predictions_local
ARRAY JOIN
    ['city'] AS feature,
    [toNullable(toString(city))] AS value
GROUP BY model, feature, interval_start;
