package alertmanager_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	configFile  = "alertmanager.yml"
	snippetFile = "routes-snippet.yml"
	rulesFile   = "../rules/mlmon.rules.yml"
	templateDir = "templates"
	// secretDir is where the shipped files expect their secrets; tests map it
	// to testdata/secrets, which holds a placeholder for every file.
	secretDir     = "/etc/alertmanager/secrets/mlmon/"
	testSecretDir = "testdata/secrets"
	// snippetPrefix keeps the snippet's receiver names from clashing with
	// the user's own ("null" exists in kube-prometheus' default config).
	snippetPrefix = "mlmon-"
)

// mlmonAlert is one alert of the rules bundle (rules/), with the labels that
// decide its route.
type mlmonAlert struct {
	name, severity, tier string
	perFeature           bool // carries a feature label
	perSegment           bool // carries segment and segment_value labels
	noModel              bool // exporter-level: job and instance, no model
}

// alerts is the list of the rules bundle's alerts and their tiers;
// TestAlertsMatchRules keeps it equal to rules/mlmon.rules.yml.
var alerts = []mlmonAlert{
	{name: "MLMonAccuracyDrop", severity: "critical", tier: "critical"},
	{name: "MLMonAccuracyBelowMinimum", severity: "critical", tier: "critical"},
	{name: "MLMonF1BelowMinimum", severity: "critical", tier: "critical"},
	{name: "MLMonExporterDown", severity: "critical", tier: "critical", noModel: true},
	{name: "MLMonClickHouseDown", severity: "critical", tier: "critical", noModel: true},
	{name: "MLMonFeatureDriftMultiple", severity: "warning", tier: "high"},
	{name: "MLMonEstimatedAccuracyDrop", severity: "warning", tier: "high"},
	{name: "MLMonModelScrapeFailing", severity: "warning", tier: "high"},
	{name: "MLMonPredictionsStale", severity: "warning", tier: "high"},
	{name: "MLMonPredictionsAbsent", severity: "warning", tier: "high"},
	{name: "MLMonErrorRatioHigh", severity: "warning", tier: "high"},
	{name: "MLMonPredictionDrift", severity: "warning", tier: "medium"},
	{name: "MLMonLabelsStale", severity: "warning", tier: "medium"},
	{name: "MLMonLabelCoverageLow", severity: "warning", tier: "medium"},
	{name: "MLMonLatencyHigh", severity: "warning", tier: "medium"},
	{name: "MLMonSegmentAccuracyDrop", severity: "warning", tier: "medium", perSegment: true},
	{name: "MLMonFeatureMissingHigh", severity: "warning", tier: "medium", perFeature: true},
	{name: "MLMonQueryErrors", severity: "warning", tier: "medium"},
	{name: "MLMonRulesVersionMismatch", severity: "warning", tier: "medium", noModel: true},
	{name: "MLMonConfigReloadFailed", severity: "warning", tier: "medium", noModel: true},
	{name: "MLMonFeatureDrift", severity: "info", tier: "low", perFeature: true},
	{name: "MLMonFeatureOutOfRangeHigh", severity: "info", tier: "low", perFeature: true},
	{name: "MLMonFeatureUnseenCategoriesHigh", severity: "info", tier: "low", perFeature: true},
	{name: "MLMonLabelDrift", severity: "info", tier: "low"},
}

// labels returns the labels Prometheus sends for the alert: the rule's own
// plus job and instance from the scrape of the exporter.
func (a mlmonAlert) labels(model, instance string) map[string]string {
	l := map[string]string{
		"alertname":     a.name,
		"severity":      a.severity,
		"tier":          a.tier,
		"rules_version": "0.1.0",
		"job":           "mlmon",
		"instance":      instance,
	}
	if !a.noModel {
		l["model"] = model
	}
	if a.perFeature {
		l["feature"] = "age"
	}
	if a.perSegment {
		l["segment"], l["segment_value"] = "country", "BR"
	}
	return l
}

func alertByName(t *testing.T, name string) mlmonAlert {
	t.Helper()
	for _, a := range alerts {
		if a.name == name {
			return a
		}
	}
	t.Fatalf("no alert %s in the table", name)
	return mlmonAlert{}
}

// binary finds a program of the Alertmanager package. A missing one fails
// the test rather than skipping it: the routing is untested without it.
func binary(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("none of %v on PATH: install Alertmanager and amtool (scripts/install-deps.sh, Debian package prometheus-alertmanager)", names)
	return ""
}

// amtool runs amtool with a bounded time and returns its stdout and stderr.
func amtool(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, "amtool"), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// readConfig decodes a YAML file into generic maps, the form the tests
// rewrite configurations in.
func readConfig(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeConfig(t, data)
}

func decodeConfig(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("decode YAML: %v", err)
	}
	return cfg
}

// writeConfig writes cfg as YAML into dir and returns the file's path.
func writeConfig(t *testing.T, dir, name string, cfg map[string]any) string {
	t.Helper()
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withEmail returns the text of alertmanager.yml with its optional e-mail
// blocks (between "# BEGIN e-mail" and "# END e-mail") uncommented, so the
// documented example is checked as it stands in the file.
func withEmail(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	inBlock, blocks := false, 0
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "# BEGIN e-mail":
			inBlock = true
			continue
		case trimmed == "# END e-mail":
			inBlock = false
			blocks++
			continue
		case inBlock:
			indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
			line = indent + strings.TrimPrefix(strings.TrimPrefix(trimmed, "#"), " ")
		}
		out = append(out, line)
	}
	if blocks != 2 {
		t.Fatalf("%s: want 2 e-mail blocks (global and pager), found %d", configFile, blocks)
	}
	return []byte(strings.Join(out, "\n"))
}

// absTemplates makes the template globs absolute so that a configuration
// written elsewhere still loads this directory's templates.
func absTemplates(t *testing.T, cfg map[string]any) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	globs, _ := cfg["templates"].([]any)
	for i, g := range globs {
		globs[i] = filepath.Join(dir, g.(string))
	}
}

// mergeSnippet builds what a user gets by following routes-snippet.yml's
// instructions on a small existing configuration: the snippet's route first
// under the root, the user's own routes after it, receivers, inhibit rules
// and templates appended.
func mergeSnippet(t *testing.T) map[string]any {
	t.Helper()
	snippet := readConfig(t, snippetFile)
	tmpl, err := filepath.Abs(filepath.Join(templateDir, "mlmon.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	if got := snippet["templates"]; len(got.([]any)) != 1 || got.([]any)[0] != "mlmon.tmpl" {
		t.Fatalf("%s: templates = %v, want [mlmon.tmpl]", snippetFile, got)
	}
	existing := decodeConfig(t, []byte(`
route:
  receiver: team-default
  group_by: [alertname, namespace]
  routes:
    - receiver: team-pager
      matchers: ['severity="critical"']
receivers:
  - name: team-default
  - name: team-pager
  - name: "null"
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [namespace, alertname]
`))
	route := existing["route"].(map[string]any)
	route["routes"] = append(snippet["routes"].([]any), route["routes"].([]any)...)
	existing["receivers"] = append(existing["receivers"].([]any), snippet["receivers"].([]any)...)
	existing["inhibit_rules"] = append(existing["inhibit_rules"].([]any), snippet["inhibit_rules"].([]any)...)
	existing["templates"] = []any{tmpl}
	return existing
}

// walkRoutes calls fn on route and every route below it.
func walkRoutes(route map[string]any, fn func(map[string]any)) {
	fn(route)
	children, _ := route["routes"].([]any)
	for _, c := range children {
		walkRoutes(c.(map[string]any), fn)
	}
}

// receivers returns the configuration's receivers by name.
func receivers(cfg map[string]any) map[string]map[string]any {
	byName := map[string]map[string]any{}
	list, _ := cfg["receivers"].([]any)
	for _, r := range list {
		rm := r.(map[string]any)
		byName[rm["name"].(string)] = rm
	}
	return byName
}

// walkMaps calls fn on every map below v (v included), depth first.
func walkMaps(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, child := range v {
			walkMaps(child, fn)
		}
	case []any:
		for _, child := range v {
			walkMaps(child, fn)
		}
	}
}
