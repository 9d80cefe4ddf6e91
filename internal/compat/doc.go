// Package compat proves mlmon's SQL on two ClickHouse engines: Debian's
// ClickHouse 18.16 (a private server, internal/chtest) and a current engine,
// chDB (ClickHouse as a shared library, loaded with dlopen). Its test seeds
// the same rows into both, renders every query the exporter issues from the
// real builders in internal/chquery, runs each on both engines and compares
// the results cell by cell, then the metrics computed from them.
//
// The comparison needs the build tag chdb and libchdb.so
// (scripts/install-chdb.sh); see compat_test.go for the command. Without
// the tag only the pieces that need no engine build and are unit-tested:
// Bind, which renders a query's '?' arguments as clickhouse-go does, and
// Result, one engine-neutral form of a query's output.
package compat
