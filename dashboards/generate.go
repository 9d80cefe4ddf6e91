package dashboards

//go:generate go run ./gen -out .
//go:generate cp kubernetes/configmap.yaml ../deploy/kubernetes/grafana-dashboards.yaml
