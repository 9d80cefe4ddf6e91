// Package chquery is mlmon's ClickHouse query layer: it builds the SQL for one
// model's aggregates, runs it with the scrape's deadline, and returns plain
// aggregate structs. It never returns raw rows and does no statistics: the
// math lives in internal/stats.
//
// The SQL is written for ClickHouse 18.16 (Debian's package) and current
// releases alike. What it avoids, and why:
//   - server-side {name:Type} parameters (absent in 18.16): values are bound
//     client-side with '?' and times are bound as Unix seconds inside
//     toDateTime(?), which both versions parse the same way;
//   - JOIN without explicit strictness (18.16 requires ALL/ANY) and ANY JOIN
//     (its semantics changed in 20.x): the label side is deduplicated with
//     GROUP BY and joined with ALL LEFT JOIN … USING, whose meaning is stable;
//   - NULLs from the join: join_use_nulls is forced to 0 and a constant
//     `matched` column tells joined rows from the rest;
//   - arrayAUC, Map, DateTime64 literals and window functions (absent in 18.16):
//     ROC AUC comes from a score histogram.
package chquery
