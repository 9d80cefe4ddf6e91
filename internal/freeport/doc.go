// Package freeport finds loopback ports nobody listens on, for the tests and
// benchmarks that start servers (ClickHouse, the exporter, Prometheus,
// Alertmanager) on addresses of their own.
//
// A port is free only at the moment it is found: another process may take it
// before the caller's server binds, and the server's start-up error then
// says so.
package freeport
