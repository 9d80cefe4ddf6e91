package alertmanager_test

import (
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCheckConfig runs amtool check-config on every form a user deploys:
// the shipped file, the same with the optional e-mail blocks uncommented, and
// the snippet merged into an existing configuration. check-config also
// parses the templates.
func TestCheckConfig(t *testing.T) {
	// The shipped file names its templates relative to itself; make sure the
	// glob finds the file rather than nothing (an empty glob is no error).
	cfg := readConfig(t, configFile)
	for _, g := range cfg["templates"].([]any) {
		if m, _ := filepath.Glob(g.(string)); len(m) == 0 {
			t.Errorf("%s: template glob %q matches no file", configFile, g)
		}
	}

	withMail := decodeConfig(t, withEmail(t))
	absTemplates(t, withMail)
	if len(receivers(withMail)["pager"]["email_configs"].([]any)) != 1 {
		t.Fatal("uncommented e-mail block did not add an email_configs to pager")
	}

	dir := t.TempDir()
	for _, tc := range []struct{ name, path string }{
		{"alertmanager.yml", configFile},
		{"with e-mail", writeConfig(t, dir, "email.yml", withMail)},
		{"snippet merged", writeConfig(t, dir, "merged.yml", mergeSnippet(t))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := amtool(t, "check-config", tc.path)
			if err != nil || !strings.Contains(stdout, "SUCCESS") {
				t.Fatalf("amtool check-config %s: %v\n%s%s", tc.path, err, stdout, stderr)
			}
		})
	}
}

// TestSnippetMatchesConfig keeps the snippet and the full file from drifting
// apart: the snippet's route is alertmanager.yml's mlmon sub-route, its
// receivers and inhibit rules are the file's, up to the receiver prefix.
func TestSnippetMatchesConfig(t *testing.T) {
	full, snippet := readConfig(t, configFile), readConfig(t, snippetFile)
	snippetRoutes := snippet["routes"].([]any)
	if len(snippetRoutes) != 1 {
		t.Fatalf("snippet: want one route, got %d", len(snippetRoutes))
	}
	unprefix := func(m map[string]any, key string) {
		name, ok := m[key].(string)
		if !ok {
			return // a route may inherit its receiver
		}
		if !strings.HasPrefix(name, snippetPrefix) {
			t.Errorf("snippet: %s %q lacks the %q prefix", key, name, snippetPrefix)
		}
		m[key] = strings.TrimPrefix(name, snippetPrefix)
	}
	walkRoutes(snippetRoutes[0].(map[string]any), func(r map[string]any) { unprefix(r, "receiver") })
	for _, r := range snippet["receivers"].([]any) {
		unprefix(r.(map[string]any), "name")
	}

	mlmonRoute := full["route"].(map[string]any)["routes"].([]any)[0]
	for _, c := range []struct {
		what       string
		full, snip any
	}{
		{"mlmon route", mlmonRoute, snippetRoutes[0]},
		{"receivers", full["receivers"], snippet["receivers"]},
		{"inhibit_rules", full["inhibit_rules"], snippet["inhibit_rules"]},
	} {
		if !reflect.DeepEqual(c.full, c.snip) {
			t.Errorf("%s differ between %s and %s:\n%v\n%v", c.what, configFile, snippetFile, c.full, c.snip)
		}
	}
}

// TestSecretsAreFiles checks that no receiver holds a secret inline, that
// every secret file lives in one directory, that testdata has a placeholder
// for each, and that the null receiver really notifies nobody.
func TestSecretsAreFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]any
	}{
		{"alertmanager.yml with e-mail", decodeConfig(t, withEmail(t))},
		{"routes-snippet.yml", readConfig(t, snippetFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := 0
			walkMaps([]any{tc.cfg["global"], tc.cfg["receivers"]}, func(m map[string]any) {
				for key, value := range m {
					checkSecretField(t, key, value)
					if strings.HasSuffix(key, "_file") {
						files++
					}
				}
			})
			if files == 0 {
				t.Error("no *_file secret found: the walk missed the receivers")
			}
			for name, r := range receivers(tc.cfg) {
				if strings.TrimPrefix(name, snippetPrefix) == "null" && len(r) != 1 {
					t.Errorf("receiver %s must have no integrations, has %v", name, r)
				}
			}
		})
	}
}

// TestAlertsMatchRules checks the alert table the routing tests use
// against the generated rules: every alert Prometheus can send is routed
// by a test, with the severity and tier its rule gives it.
func TestAlertsMatchRules(t *testing.T) {
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	inRules := map[string]string{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				inRules[r.Alert] = r.Labels["severity"] + "/" + r.Labels["tier"]
			}
		}
	}
	inTable := map[string]string{}
	for _, a := range alerts {
		inTable[a.name] = a.severity + "/" + a.tier
	}
	if !reflect.DeepEqual(inRules, inTable) {
		t.Errorf("alerts (severity/tier) in %s:\n%v\nin the routing tests:\n%v", rulesFile, inRules, inTable)
	}
}

// TestRoutes asks amtool which receivers each alert of the rules bundle
// reaches, in the shipped file and in the merged snippet.
func TestRoutes(t *testing.T) {
	wantByTier := map[string]string{
		"critical": "pager",
		"high":     "chat,ticket",
		"medium":   "chat",
		"low":      "null",
	}
	type routeCase struct {
		name   string
		labels map[string]string
		want   string // receivers in alertmanager.yml, in amtool's order
		// wantMerged, if set, is the answer in the merged configuration;
		// otherwise want with the snippet's prefix on every receiver.
		wantMerged string
	}
	var cases []routeCase
	for _, a := range alerts {
		cases = append(cases, routeCase{name: a.name, labels: a.labels("churn", "mlmon-0:9786"), want: wantByTier[a.tier]})
	}
	with := func(name string, extra map[string]string) map[string]string {
		l := alertByName(t, name).labels("churn", "mlmon-0:9786")
		for k, v := range extra {
			if v == "" {
				delete(l, k)
			} else {
				l[k] = v
			}
		}
		return l
	}
	retrain := map[string]string{"retrain": "enabled"}
	cases = append(cases,
		// The retrain route adds a receiver to its trigger alerts only, and
		// only when the user opted the model in.
		routeCase{name: "retrain/AccuracyDrop", labels: with("MLMonAccuracyDrop", retrain), want: "retrain,pager"},
		routeCase{name: "retrain/AccuracyBelowMinimum", labels: with("MLMonAccuracyBelowMinimum", retrain), want: "retrain,pager"},
		routeCase{name: "retrain/F1BelowMinimum", labels: with("MLMonF1BelowMinimum", retrain), want: "retrain,pager"},
		routeCase{name: "retrain/FeatureDriftMultiple", labels: with("MLMonFeatureDriftMultiple", retrain), want: "retrain,chat,ticket"},
		routeCase{name: "retrain/PredictionDrift not a trigger", labels: with("MLMonPredictionDrift", retrain), want: "chat"},
		routeCase{name: "retrain/FeatureDrift not a trigger", labels: with("MLMonFeatureDrift", retrain), want: "null"},
		routeCase{name: "retrain/SegmentAccuracyDrop not a trigger", labels: with("MLMonSegmentAccuracyDrop", retrain), want: "chat"},
		routeCase{name: "retrain=disabled", labels: with("MLMonAccuracyDrop", map[string]string{"retrain": "disabled"}), want: "pager"},
		// Unexpected labels still reach a human.
		routeCase{name: "warning without tier", labels: with("MLMonPredictionDrift", map[string]string{"tier": ""}), want: "chat"},
		routeCase{name: "unknown severity", labels: with("MLMonPredictionDrift", map[string]string{"severity": "page"}), want: "chat"},
		// Another team's alert: untouched by the mlmon tree.
		routeCase{
			name:       "non-mlmon critical",
			labels:     map[string]string{"alertname": "KubePodCrashLooping", "severity": "critical", "model": "churn"},
			want:       "chat",
			wantMerged: "team-pager",
		},
	)

	merged := writeConfig(t, t.TempDir(), "merged.yml", mergeSnippet(t))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.wantMerged == "" {
				parts := strings.Split(tc.want, ",")
				for i := range parts {
					parts[i] = snippetPrefix + parts[i]
				}
				tc.wantMerged = strings.Join(parts, ",")
			}
			var args []string
			for k, v := range tc.labels {
				args = append(args, k+"="+v)
			}
			sort.Strings(args)
			for _, c := range []struct{ config, want string }{{configFile, tc.want}, {merged, tc.wantMerged}} {
				stdout, stderr, err := amtool(t, append([]string{
					"config", "routes", "test", "--config.file=" + c.config, "--verify.receivers=" + c.want,
				}, args...)...)
				if got := strings.TrimSpace(stdout); err != nil || got != c.want {
					t.Errorf("%s: %v routes to %q, want %q (%v)\n%s", filepath.Base(c.config), args, got, c.want, err, stderr)
				}
			}
		})
	}
}

// inlineSecrets are the fields that hold a secret when set inline; each has a
// *_file twin in Alertmanager 0.25 (webhooks carry theirs in http_config).
var inlineSecrets = map[string]bool{
	"api_url": true, "routing_key": true, "service_key": true, "auth_password": true,
	"smtp_auth_password": true, "slack_api_url": true, "credentials": true,
	"bearer_token": true, "password": true, "api_key": true, "auth_secret": true,
}

// checkSecretField reports an inline secret, a secret file outside secretDir
// or without a placeholder in testdata, and a URL with credentials in it.
func checkSecretField(t *testing.T, key string, value any) {
	t.Helper()
	switch {
	case inlineSecrets[key]:
		t.Errorf("%s is set inline; use %s_file", key, key)
	case strings.HasSuffix(key, "_file"):
		path, _ := value.(string)
		if !strings.HasPrefix(path, secretDir) {
			t.Errorf("%s: %q is not under %s", key, path, secretDir)
		}
		if _, err := os.Stat(filepath.Join(testSecretDir, filepath.Base(path))); err != nil {
			t.Errorf("%s: no placeholder for %q in %s: %v", key, path, testSecretDir, err)
		}
	case key == "url":
		s, _ := value.(string)
		u, err := url.Parse(s)
		if err != nil || u.User != nil || u.RawQuery != "" {
			t.Errorf("url %q: a webhook URL must carry no credentials", s)
		}
	}
}

// TestTemplates renders every template with amtool against a notification
// of two drifting features (testdata/notification.json), one resolved. The
// real Alertmanager test covers Slack and PagerDuty as sent; this one also
// covers e-mail, which needs no SMTP server here.
func TestTemplates(t *testing.T) {
	const runbook = "https://github.com/mlmon/mlmon/blob/main/docs/runbooks.md#mlmonfeaturedrift"
	for _, tc := range []struct {
		template, kind string
		want           []string
		wantNot        []string
	}{
		{template: "mlmon.title", want: []string{"[FIRING:1] MLMonFeatureDrift · model churn · tier low"}},
		{template: "mlmon.email.subject", want: []string{"[FIRING:1] MLMonFeatureDrift · model churn · tier low"}},
		{template: "mlmon.runbook_url", want: []string{runbook}},
		{template: "mlmon.dashboard_url", want: []string{"https://grafana.example.org/d/mlmon-model?var-model=churn"}},
		{template: "mlmon.slack.color", want: []string{"#439FE0"}},
		{template: "mlmon.slack.text", want: []string{
			":rotating_light: *An input feature of a model drifts.*\nFeature age of model churn drifts: its PSI 0.312",
			"`model=churn feature=age tier=low severity=info instance=mlmon-0:9786`",
			"<" + runbook + "|Runbook> · <https://grafana.example.org/d/mlmon-model?var-model=churn|Dashboard>",
			":white_check_mark: *An input feature of a model drifts.*",
			"PSI 0.25 &gt; 0.2 &lt;b&gt;", // Slack control characters escaped
		}},
		{template: "mlmon.text", want: []string{
			"[firing] An input feature of a model drifts.\nFeature age of model churn drifts: its PSI 0.312",
			"model=churn feature=age tier=low severity=info instance=mlmon-0:9786\nrunbook: " + runbook +
				"\ndashboard: https://grafana.example.org/d/mlmon-model?var-model=churn",
			"[resolved] An input feature of a model drifts.\nFeature plan of model churn drifts: its PSI 0.25 > 0.2 <b>",
		}},
		{template: "mlmon.email.html", kind: "html", want: []string{
			"<h2>[FIRING:1] MLMonFeatureDrift · model churn · tier low</h2>",
			"<tr><td>model</td><td><code>churn</code></td></tr>",
			"<tr><td>feature</td><td><code>age</code></td></tr>",
			"<tr><td>tier</td><td>low</td></tr>",
			"<tr><td>since</td><td>2026-01-01 00:00:00 UTC</td></tr>",
			`<a href="` + runbook + `">Runbook</a>`,
			`<a href="https://grafana.example.org/d/mlmon-model?var-model=churn">Dashboard</a>`,
			"PSI 0.25 &gt; 0.2 &lt;b&gt;", // label and annotation values are escaped
			`<a href="http://alertmanager.example.org:9093">Alertmanager</a>`,
		}, wantNot: []string{"<b>"}},
	} {
		t.Run(tc.template, func(t *testing.T) {
			args := []string{
				"template", "render",
				"--template.glob=" + filepath.Join(templateDir, "*.tmpl"),
				"--template.data=testdata/notification.json",
				`--template.text={{ template "` + tc.template + `" . }}`,
			}
			if tc.kind != "" {
				args = append(args, "--template.type="+tc.kind)
			}
			stdout, stderr, err := amtool(t, args...)
			if err != nil {
				t.Fatalf("amtool template render: %v\n%s", err, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(stdout, w) {
					t.Errorf("output contains %q:\n%s", w, stdout)
				}
			}
		})
	}
}
