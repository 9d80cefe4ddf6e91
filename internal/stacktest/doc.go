// Package stacktest starts mlmon's whole stack for integration tests: a
// private ClickHouse with the demo schema and demo data, the real exporter
// binary with the shipped demo configuration (deploy/local/mlmon.yml), and a
// real Prometheus scraping it every second and evaluating the rules bundle.
// Everything runs on loopback with free ports inside a temporary directory,
// each process in its own process group, and everything is stopped at
// cleanup.
//
// It is a normal package, not a _test file, so that the tests of any package
// (dashboards, rules, alertmanager, …) can share it:
//
//	s := stacktest.Start(t, stacktest.Options{})
//	v, err := s.Query(`mlmon_scrape_success`)
//
// A missing clickhouse-server or prometheus binary is an error, never a
// skip: a test that needs the stack fails where the stack cannot run.
package stacktest
