// Package e2e runs the user's three steps together on the local stack: a
// real ClickHouse with demo data, the exporter, Prometheus evaluating the
// shipped rules, and Alertmanager routing with the shipped routes to a
// webhook recorder. Only time is shortened (every rule's `for`, the
// evaluation interval, Alertmanager's group timings), by configuration
// written for the test: the shipped files are read, never edited.
package e2e
