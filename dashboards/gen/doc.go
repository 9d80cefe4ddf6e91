// Command gen writes mlmon's dashboards: the JSON of every board and the
// Kubernetes ConfigMap carrying them (go generate ./dashboards/...).
package main
