// Command exporter serves mlmon's model-monitoring metrics from ClickHouse.
// main.go is wiring only: flags, logging, HTTP endpoints and reloads; the
// metrics come from package collector.
package main
