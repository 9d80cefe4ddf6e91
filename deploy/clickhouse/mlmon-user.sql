-- The read-only ClickHouse user of the mlmon exporter, with SQL-driven access
-- control (current releases). It matches users.d/mlmon.xml, which does the
-- same for servers configured by XML files and for 18.16; clickhouse_test.go
-- keeps the two in step, and chdb_test.go parses every statement on a
-- current engine. Run it as a user with access management, after replacing
-- the password hash:
--
--   printf '%s' "$PASSWORD" | sha256sum | cut -d' ' -f1     # the hash
--   clickhouse-client --multiquery < mlmon-user.sql
--
-- Until the hash is replaced the user matches no password: nobody can log in.
-- The exporter reads the password from its environment
-- (MLMON_CLICKHOUSE_PASSWORD) or clickhouse.password_file, never from mlmon.yml.

-- readonly = 2: SELECT only, but the query may change settings. The exporter
-- sends max_execution_time (the scrape's deadline), join_use_nulls = 0,
-- max_query_size, use_index_for_in_with_subqueries = 0 and readonly = 2 with
-- every query, which readonly = 1 would reject. MAX makes the limits ones the
-- exporter's password cannot raise: keep the
-- max_execution_time maximum at or above clickhouse.query_timeout.
CREATE SETTINGS PROFILE IF NOT EXISTS mlmon SETTINGS
    readonly = 2,
    max_execution_time = 60 MAX 120,
    max_memory_usage = 4000000000 MAX 4000000000;

-- What the exporter reads: the database with the predictions and labels.
-- system.tables is read for a table's sampling key (when sample: is set);
-- everyone may read it unless select_from_system_db_requires_grant is on,
-- and the grant below keeps it working when it is.
CREATE ROLE IF NOT EXISTS mlmon_reader;
GRANT SELECT ON ml.* TO mlmon_reader;
GRANT SELECT(database, name, sampling_key) ON system.tables TO mlmon_reader;

-- Restrict HOST to the exporter's network where you can, e.g.
-- HOST IP '10.0.0.0/8'.
CREATE USER IF NOT EXISTS mlmon
    IDENTIFIED WITH sha256_hash BY '0000000000000000000000000000000000000000000000000000000000000000'
    HOST ANY
    SETTINGS PROFILE 'mlmon';
GRANT mlmon_reader TO mlmon;
SET DEFAULT ROLE mlmon_reader TO mlmon;

-- A backstop against a runaway, not a budget (see users.d/mlmon.xml): when
-- it is exceeded every query fails until the hour ends and
-- MLMonClickHouseDown fires.
CREATE QUOTA IF NOT EXISTS mlmon
    FOR INTERVAL 1 hour MAX queries = 100000, errors = 10000, execution_time = 14400
    TO mlmon;
