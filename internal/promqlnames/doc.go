// Package promqlnames lists the metric names a PromQL expression reads, with
// Prometheus's own parser (promql/parser), so that the rules and dashboards
// tests can check every name against what the exporter exposes. It is used by
// tests only; no binary imports it.
package promqlnames
