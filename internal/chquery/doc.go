// Package chquery is mlmon's ClickHouse query layer: it builds the SQL for one
// model's aggregates, runs it with the scrape's deadline, and returns plain
// aggregate structs. It never returns raw rows and does no statistics: the
// math lives in internal/stats.
//
// Every query kind's SQL, for each model kind and source form (one server,
// Distributed tables, each join strategy of docs/cluster.md, sampling), is
// kept whole in testdata/sql with its arguments bound, so that a change to a
// builder is reviewed as a diff of the statement it sends; `go test` fails
// when a file is stale, and
//
//	go test ./internal/chquery -run TestGoldenSQL -update
//
// rewrites them. The encodings a query and its decoder share sit side by
// side: the window query's state keys in statekeys.go (stateKeys), the packed
// label tie-break and hash in labelkey.go (labelTieBreak).
//
// The SQL is written for ClickHouse 18.16 (Debian's package) and current
// releases alike. What it avoids, and why:
//   - server-side {name:Type} parameters (absent in 18.16): values are bound
//     client-side with '?' and times are bound as Unix seconds inside
//     toDateTime(?), which both versions parse the same way;
//   - JOIN without explicit strictness (18.16 requires ALL/ANY), and ANY JOIN
//     against a side with repeated keys (its semantics changed in 20.x): the
//     label side is deduplicated with GROUP BY, so every key is unique and
//     ANY LEFT JOIN … USING means the same on both;
//   - NULLs from the join: join_use_nulls is forced to 0 and a constant
//     `matched` column tells joined rows from the rest;
//   - arrayAUC, Map, DateTime64 literals and window functions (absent in 18.16):
//     ROC AUC comes from a score histogram;
//   - joined subqueries without an alias (rejected by current releases);
//   - round() for score buckets (ties away from zero on 18.16, to even now):
//     floor(x + 0.5) instead, as the truncation of the clamped score
//     (clampedBucketSQL);
//   - if() around a conversion in the state keys: current releases evaluate
//     such a branch lazily, row by row (short_circuit_function_evaluation),
//     and refuse to convert NaN to an integer; the score keys multiply by the
//     finite flag, and the bucket's clamp takes NaN to 0 (bucketSQL);
//   - subnormal float literals (a syntax error on 18.16): written as an exact
//     product;
//   - empty array literals (Array(Nothing), rejected by has/indexOf on 18.16);
//   - argMax ties decided by storage order: ts·2³² + a hash of the value
//     breaks them (argMax over a tuple works too, but 2.4 times slower);
//   - sumMap with String keys (18.16 wants numbers), and one aggregate state
//     per bin: bins are counted by grouping small integer state keys.
package chquery
