// External test package: it reads the committed files the way a user's
// Prometheus does, and may import collector (which imports rules).
package rules_test

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mlmon/mlmon/collector"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/promqlnames"
	"github.com/mlmon/mlmon/rules"
)

// ruleFile mirrors the Prometheus rule file format, as far as the bundle
// uses it.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name  string      `yaml:"name"`
	Rules []ruleEntry `yaml:"rules"`
}

type ruleEntry struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type prometheusRule struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec ruleFile `yaml:"spec"`
}

// decodeStrict decodes YAML, rejecting keys the target type does not know,
// so that a misspelt key in the generator cannot go unnoticed.
func decodeStrict(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
}

func loadRuleFile(t *testing.T) ruleFile {
	t.Helper()
	var f ruleFile
	decodeStrict(t, rules.RuleFileName, &f)
	if len(f.Groups) == 0 {
		t.Fatalf("%s has no groups", rules.RuleFileName)
	}
	return f
}

func allRules(f ruleFile) []ruleEntry {
	var rs []ruleEntry
	for _, g := range f.Groups {
		rs = append(rs, g.Rules...)
	}
	return rs
}

func alertRules(f ruleFile) []ruleEntry {
	var as []ruleEntry
	for _, r := range allRules(f) {
		if r.Alert != "" {
			as = append(as, r)
		}
	}
	return as
}

func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := rules.Files(rules.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(f.Name)
		if err != nil {
			t.Errorf("rules/%s: %v; run `go generate ./rules/...`", f.Name, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("rules/%s is stale: run `go generate ./rules/...` and commit the result", f.Name)
		}
	}

	// Generation must be deterministic, or the stale check flaps.
	again, err := rules.Files(rules.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(files, again) {
		t.Error("two generations differ")
	}
}

// promtool returns the path of promtool. Missing promtool is a failure, not
// a skip: these tests are the only execution of the rules before they page
// someone.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): install it (Debian: apt-get install prometheus); the rules cannot be checked without it", err)
	}
	return p
}

func TestPromtoolCheckRules(t *testing.T) {
	out, err := exec.Command(promtool(t), "check", "rules", rules.RuleFileName).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", rules.RuleFileName, err, out)
	}
}

func TestPromtoolUnitTests(t *testing.T) {
	files, err := filepath.Glob("tests/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no promtool tests in rules/tests")
	}
	out, err := exec.Command(promtool(t), append([]string{"test", "rules"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

func TestPrometheusRuleMatchesRuleFile(t *testing.T) {
	plain := loadRuleFile(t)
	var crd prometheusRule
	decodeStrict(t, rules.PrometheusRuleName, &crd)

	if crd.APIVersion != "monitoring.coreos.com/v1" || crd.Kind != "PrometheusRule" {
		t.Errorf("apiVersion/kind = %s/%s", crd.APIVersion, crd.Kind)
	}
	if crd.Metadata.Name != "mlmon" {
		t.Errorf("metadata.name = %q, want mlmon", crd.Metadata.Name)
	}
	wantLabels := map[string]string{
		"app.kubernetes.io/name":    "mlmon",
		"app.kubernetes.io/version": rules.Version,
		"prometheus":                "k8s",
		"role":                      "alert-rules",
	}
	if !reflect.DeepEqual(crd.Metadata.Labels, wantLabels) {
		t.Errorf("metadata.labels = %v, want %v", crd.Metadata.Labels, wantLabels)
	}
	if !reflect.DeepEqual(crd.Spec.Groups, plain.Groups) {
		t.Errorf("the PrometheusRule's groups differ from %s", rules.RuleFileName)
	}
}

// requiredAlerts are the names Alertmanager routes and inhibitions (written
// elsewhere) match on: renaming one silently breaks routing.
var requiredAlerts = []string{
	"MLMonAccuracyBelowMinimum", "MLMonAccuracyDrop", "MLMonClickHouseDown", "MLMonErrorRatioHigh",
	"MLMonExporterDown", "MLMonFeatureDrift", "MLMonFeatureDriftMultiple", "MLMonFeatureMissingHigh",
	"MLMonFeatureOutOfRangeHigh", "MLMonFeatureUnseenCategoriesHigh", "MLMonLabelCoverageLow",
	"MLMonLabelDrift", "MLMonLabelsStale", "MLMonLatencyHigh", "MLMonModelScrapeFailing",
	"MLMonPredictionDrift", "MLMonPredictionsAbsent", "MLMonPredictionsStale", "MLMonQueryErrors",
	"MLMonRulesVersionMismatch",
}

// tierOf is docs/alerting.md's tiers for the tier alerts.
var tierOf = map[string]string{
	"MLMonAccuracyDrop":         "critical",
	"MLMonAccuracyBelowMinimum": "critical",
	"MLMonFeatureDriftMultiple": "high",
	"MLMonPredictionDrift":      "medium",
	"MLMonFeatureDrift":         "low",
}

var severityOfTier = map[string]string{"critical": "critical", "high": "warning", "medium": "warning", "low": "info"}

// modellessAlerts concern a whole exporter, not a model.
var modellessAlerts = []string{"MLMonExporterDown", "MLMonClickHouseDown", "MLMonConfigReloadFailed", "MLMonRulesVersionMismatch"}

// featureAlerts fire per model and feature.
var featureAlerts = []string{"MLMonFeatureDrift", "MLMonFeatureMissingHigh", "MLMonFeatureOutOfRangeHigh", "MLMonFeatureUnseenCategoriesHigh"}

func TestAlertConventions(t *testing.T) {
	f := loadRuleFile(t)
	seen := map[string]bool{}
	for _, a := range alertRules(f) {
		t.Run(a.Alert, func(t *testing.T) {
			if seen[a.Alert] {
				t.Errorf("alert defined twice")
			}
			seen[a.Alert] = true
			if !strings.HasPrefix(a.Alert, "MLMon") {
				t.Errorf("name lacks the MLMon prefix")
			}
			if a.For == "" {
				t.Errorf("no `for`: one bad scrape would notify")
			}

			wantLabels := []string{"rules_version", "severity", "tier"}
			if got := slices.Sorted(maps.Keys(a.Labels)); !slices.Equal(got, wantLabels) {
				t.Errorf("labels %v, want %v", got, wantLabels)
			}
			tier := a.Labels["tier"]
			if sev, ok := severityOfTier[tier]; !ok || a.Labels["severity"] != sev {
				t.Errorf("tier %q with severity %q; tiers map to severities %v", tier, a.Labels["severity"], severityOfTier)
			}
			if want, ok := tierOf[a.Alert]; ok && tier != want {
				t.Errorf("tier %q, docs/alerting.md says %q", tier, want)
			}
			if a.Labels["rules_version"] != rules.Version {
				t.Errorf("rules_version %q, want %q", a.Labels["rules_version"], rules.Version)
			}

			optional := maps.Clone(a.Annotations)
			delete(optional, "dashboard_url")
			wantAnn := []string{"description", "runbook_url", "summary"}
			if got := slices.Sorted(maps.Keys(optional)); !slices.Equal(got, wantAnn) {
				t.Errorf("annotations %v, want %v and optionally dashboard_url", got, wantAnn)
			}
			if s := a.Annotations["summary"]; !strings.HasSuffix(s, ".") || strings.Contains(s, "{{") {
				t.Errorf("summary %q: must be static and end with a period", s)
			}
			d := a.Annotations["description"]
			if !slices.Contains(modellessAlerts, a.Alert) && !strings.Contains(d, "{{ $labels.model }}") {
				t.Errorf("description does not name the model: %q", d)
			}
			if slices.Contains(featureAlerts, a.Alert) && !strings.Contains(d, "{{ $labels.feature }}") {
				t.Errorf("per-feature alert whose description does not name the feature: %q", d)
			}
			if want := rules.RunbookURL(a.Alert); a.Annotations["runbook_url"] != want {
				t.Errorf("runbook_url %q, want %q", a.Annotations["runbook_url"], want)
			}
		})
	}
	for _, name := range requiredAlerts {
		if !seen[name] {
			t.Errorf("alert %s is missing; Alertmanager routes depend on its name", name)
		}
	}
}

func TestJobSelectorOption(t *testing.T) {
	groups, err := rules.Bundle(rules.Options{JobSelector: `job="ml-exporter"`})
	if err != nil {
		t.Fatal(err)
	}
	var expr string
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert == "MLMonExporterDown" {
				expr = r.Expr
			}
		}
	}
	if want := `up{job="ml-exporter"} == 0`; expr != want {
		t.Errorf("MLMonExporterDown expr = %q, want %q", expr, want)
	}
	for _, bad := range []string{"", "  ", `{job="x"}`} {
		if _, err := rules.Bundle(rules.Options{JobSelector: bad}); err == nil {
			t.Errorf("job selector %q accepted", bad)
		}
	}
}

var thresholdRef = regexp.MustCompile(`mlmon_alert_threshold\{threshold="([^"]*)"\}`)

func TestThresholdNames(t *testing.T) {
	var names []string
	for _, th := range rules.Thresholds() {
		names = append(names, th.Name)
	}
	// The configuration rejects unknown threshold names; the rules must
	// know exactly the same set, or a configured threshold is ignored.
	if !slices.Equal(names, config.KnownThresholds) {
		t.Errorf("rules thresholds %v\nconfig.KnownThresholds %v", names, config.KnownThresholds)
	}
	for _, r := range allRules(loadRuleFile(t)) {
		for _, m := range thresholdRef.FindAllStringSubmatch(r.Expr, -1) {
			if !slices.Contains(config.KnownThresholds, m[1]) {
				t.Errorf("%s%s reads unknown threshold %q", r.Alert, r.Record, m[1])
			}
		}
	}
}

// TestMetricNames checks every metric an expression reads against what the
// exporter can expose, so a renamed metric cannot leave an alert that never
// fires.
func TestMetricNames(t *testing.T) {
	exposed := collector.MetricNames()
	f := loadRuleFile(t)
	for _, g := range f.Groups {
		// A recording rule is only fresh for rules after it in its own
		// group: groups run concurrently, rules in a group in order.
		recorded := map[string]bool{}
		for _, r := range g.Rules {
			names, err := promqlnames.MetricNames(r.Expr)
			if err != nil {
				t.Errorf("%s%s: %v", r.Alert, r.Record, err)
				continue
			}
			if len(names) == 0 {
				t.Errorf("%s%s reads no metric", r.Alert, r.Record)
			}
			for _, n := range names {
				switch {
				case recorded[n]:
				case strings.Contains(n, ":"):
					t.Errorf("%s%s reads %s, which is not recorded earlier in group %s", r.Alert, r.Record, n, g.Name)
				case strings.HasPrefix(n, "mlmon_"):
					if !slices.Contains(exposed, n) {
						t.Errorf("%s%s reads %s, which collector.MetricNames() does not list", r.Alert, r.Record, n)
					}
				case n == "up":
				default:
					t.Errorf("%s%s reads %s: the only metric outside mlmon's is up", r.Alert, r.Record, n)
				}
			}
			if r.Record != "" {
				if !regexp.MustCompile(`^[a-z_]+:mlmon_[a-z0-9_]+:[a-z0-9_]+$`).MatchString(r.Record) {
					t.Errorf("recording rule %s is not named level:metric:operations", r.Record)
				}
				recorded[r.Record] = true
			}
		}
	}
}

// unitTestFile is the part of promtool's test format this check reads.
type unitTestFile struct {
	RuleFiles          []string `yaml:"rule_files"`
	EvaluationInterval string   `yaml:"evaluation_interval"`
	Tests              []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertIsUnitTested makes sure a new alert cannot ship without
// promtool tests that see it fire with its full annotations, and see it
// not fire earlier in the same scenario (the `for` boundary).
func TestEveryAlertIsUnitTested(t *testing.T) {
	files, err := filepath.Glob("tests/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	fires := map[string]bool{}
	boundary := map[string]bool{}
	for _, name := range files {
		var f unitTestFile
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(f.RuleFiles, []string{"../" + rules.RuleFileName}) {
			t.Errorf("%s: rule_files %v; test the generated file", name, f.RuleFiles)
		}
		for _, tc := range f.Tests {
			quiet := map[string][]string{}
			for _, at := range tc.AlertRuleTest {
				if len(at.ExpAlerts) == 0 {
					quiet[at.Alertname] = append(quiet[at.Alertname], at.EvalTime)
				}
			}
			for _, at := range tc.AlertRuleTest {
				for _, ea := range at.ExpAlerts {
					if ea.ExpAnnotations["description"] == "" || ea.ExpAnnotations["summary"] == "" || ea.ExpAnnotations["runbook_url"] == "" {
						t.Errorf("%s: %q expects %s without its full annotations", name, tc.Name, at.Alertname)
					}
				}
				if len(at.ExpAlerts) > 0 {
					fires[at.Alertname] = true
					if len(quiet[at.Alertname]) > 0 {
						boundary[at.Alertname] = true
					}
				}
			}
		}
	}
	for _, a := range alertRules(loadRuleFile(t)) {
		if !fires[a.Alert] {
			t.Errorf("%s: no promtool test sees it fire", a.Alert)
		}
		if !boundary[a.Alert] {
			t.Errorf("%s: no promtool test sees it stay quiet before firing", a.Alert)
		}
	}
}
