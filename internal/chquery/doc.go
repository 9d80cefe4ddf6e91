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
//     ROC AUC comes from a score histogram;
//   - joined subqueries without an alias (rejected by current releases);
//   - round() for score buckets (ties away from zero on 18.16, to even now):
//     floor(x + 0.5) instead;
//   - subnormal float literals (a syntax error on 18.16): written as an exact
//     product;
//   - empty array literals (Array(Nothing), rejected by has/indexOf on 18.16);
//   - argMax ties decided by storage order: the tuple (ts, value) breaks them.
package chquery
