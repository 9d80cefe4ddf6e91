package rules

// The generated files are committed so that users can load them without Go;
// TestGeneratedFilesUpToDate fails when they fall behind this package.
//go:generate go run ./gen -out .
//go:generate cp prometheusrule.yaml ../deploy/kubernetes/prometheusrule.yaml
