// Package dashboards builds mlmon's Grafana dashboards with
// grafana-tools/sdk: Overview, Model, Feature drift and Exporter. The
// generated JSON (json/*.json) and the Kubernetes ConfigMap that carries it
// (kubernetes/configmap.yaml) are committed so that users import them
// without Go; TestGeneratedFilesUpToDate fails when they fall behind this
// package.
package dashboards
