// Command mlmontool works with mlmon's configuration and metrics outside the
// exporter, the way promtool and amtool do for Prometheus and Alertmanager:
// each subcommand lives in its own file and registers itself in main.go.
package main
