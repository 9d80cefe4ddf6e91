// Command gen writes mlmon's rule files: a plain Prometheus rule file and a
// prometheus-operator PrometheusRule with the same groups.
//
//	go run ./rules/gen -out rules                                  # what go generate does
//	go run ./rules/gen -out /tmp/rules -job-selector 'job="ml"'    # a deployment with another job name
package main
