package deploy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/mlmon/mlmon/internal/config"
)

const composeFile = "compose/compose.yaml"

// loadCompose loads the stack with compose's own loader, which validates it
// against the Compose specification's schema and resolves relative paths
// against the file's directory, as `docker compose` does. No environment
// is read: the file must not depend on one.
func loadCompose(t *testing.T) *composetypes.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{composeFile}, cli.WithName("mlmon"), cli.WithResolvedPaths(true))
	must(t, err, "compose options")
	p, err := opts.LoadProject(context.Background())
	must(t, err, "load %s", composeFile)
	return p
}

func service(t *testing.T, p *composetypes.Project, name string) composetypes.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("compose has no service %s", name)
	}
	return s
}

// generatedElsewhere is what other parts of the repository generate and the
// stack mounts: until it exists, its absence is reported but tolerated;
// once it exists, it is checked like everything else.
func generatedElsewhere(t *testing.T, host string) bool {
	rel, err := filepath.Rel(repoRoot(t), host)
	return err == nil && strings.HasPrefix(rel, "dashboards"+string(filepath.Separator))
}

// TestComposeMounts: every bind mount, secret and build context points at
// something that exists in the repository, binds never create host paths,
// and every port is published on loopback only.
func TestComposeMounts(t *testing.T) {
	p := loadCompose(t)
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for _, v := range s.Volumes {
			switch v.Type {
			case composetypes.VolumeTypeBind:
				if v.Bind == nil || v.Bind.CreateHostPath {
					t.Errorf("%s: bind %s → %s may create the host path: a missing file would become an empty directory in the repository", name, v.Source, v.Target)
				}
				if !v.ReadOnly {
					t.Errorf("%s: bind %s is writable", name, v.Target)
				}
				if _, err := os.Stat(v.Source); err != nil {
					if generatedElsewhere(t, v.Source) {
						t.Logf("%s: %s does not exist yet (generated under dashboards/)", name, v.Source)
					} else {
						t.Errorf("%s: bind source: %v", name, err)
					}
				}
			case composetypes.VolumeTypeTmpfs, composetypes.VolumeTypeVolume:
			default:
				t.Errorf("%s: volume type %s", name, v.Type)
			}
		}
		for _, sec := range s.Secrets {
			def, ok := p.Secrets[sec.Source]
			if !ok {
				t.Errorf("%s: undefined secret %s", name, sec.Source)
				continue
			}
			if _, err := os.Stat(def.File); err != nil {
				t.Errorf("secret %s: %v", sec.Source, err)
			}
		}
		if b := s.Build; b != nil {
			dockerfile := filepath.Join(b.Context, b.Dockerfile)
			data, err := os.ReadFile(dockerfile)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			df, err := parseDockerfile(data)
			must(t, err, "%s", dockerfile)
			if b.Target == "" || df.stage(b.Target) == nil {
				t.Errorf("%s: build target %q is not a stage of %s", name, b.Target, dockerfile)
			}
		}
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %d published on %q, want 127.0.0.1 only", name, port.Target, port.HostIP)
			}
		}
	}
}

// hostPath maps a path inside a service's container to the file on this
// machine that a bind mount or a file secret puts there.
func hostPath(t *testing.T, p *composetypes.Project, s composetypes.ServiceConfig, inContainer string) (string, bool) {
	t.Helper()
	best, host := "", ""
	try := func(target, source string) {
		if (inContainer == target || strings.HasPrefix(inContainer, target+"/")) && len(target) > len(best) {
			best, host = target, filepath.Join(source, strings.TrimPrefix(inContainer, target))
		}
	}
	for _, v := range s.Volumes {
		if v.Type == composetypes.VolumeTypeBind {
			try(path.Clean(v.Target), v.Source)
		}
	}
	for _, sec := range s.Secrets {
		target := sec.Target
		if target == "" {
			target = sec.Source
		}
		if !path.IsAbs(target) {
			target = "/run/secrets/" + target
		}
		if def, ok := p.Secrets[sec.Source]; ok {
			try(target, def.File)
		}
	}
	return host, best != ""
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// commandFlag is --name=value from a service's command, or def.
func commandFlag(s composetypes.ServiceConfig, name, def string) string {
	if v, ok := flagValue(s.Command, name); ok {
		return v
	}
	return def
}

// serviceAddr checks that host:port names a service of the stack and
// returns the service.
func serviceAddr(t *testing.T, p *composetypes.Project, addr, wantPort, what string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if _, ok := p.Services[host]; !ok {
		t.Errorf("%s %s: no service %s in the stack", what, addr, host)
	}
	if port != wantPort {
		t.Errorf("%s %s: port %s, the service listens on %s", what, addr, port, wantPort)
	}
}

// TestComposeExporter: the exporter's configuration, where the image reads
// it, passes mlmon's validation; its relative password_file resolves to the
// same secret in the container as on this machine; the ClickHouse user it
// names is the one the ClickHouse service gets, with that password.
func TestComposeExporter(t *testing.T) {
	p := loadCompose(t)
	exp := service(t, p, "exporter")
	if exp.Build == nil || exp.Build.Target != "exporter" {
		t.Error("the exporter service must build the Dockerfile's exporter target")
	}
	checkArgs(t, binary(t, "exporter"), exp.Command, "compose exporter command")
	inContainer := commandFlag(exp, "config.file", imageConfigFile)
	host, ok := hostPath(t, p, exp, inContainer)
	if !ok {
		t.Fatalf("nothing is mounted at %s, where the exporter reads its configuration", inContainer)
	}
	if !sameFile(t, host, filepath.Join("compose", "mlmon.yml")) {
		t.Errorf("%s is %s, want deploy/compose/mlmon.yml", inContainer, host)
	}
	cfg, err := config.Load(host, config.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("the compose exporter's configuration: %v", err)
	}
	if !exp.ReadOnly || !slices.Contains(exp.CapDrop, "ALL") {
		t.Error("the exporter container should be read-only with all capabilities dropped, as on Kubernetes")
	}

	// password_file is relative to the configuration file, in both worlds.
	if cfg.ClickHouse.PasswordFile == "" {
		t.Fatal("the compose exporter has no password_file: it reads as the password-protected mlmon user")
	}
	rel, err := filepath.Rel(filepath.Dir(host), cfg.ClickHouse.PasswordFile)
	must(t, err, "rel")
	pwInContainer := path.Join(path.Dir(inContainer), filepath.ToSlash(rel))
	pwHost, ok := hostPath(t, p, exp, pwInContainer)
	if !ok || !sameFile(t, pwHost, cfg.ClickHouse.PasswordFile) {
		t.Errorf("in the container password_file is %s, which is not mounted from %s", pwInContainer, cfg.ClickHouse.PasswordFile)
	}
	for _, addr := range cfg.ClickHouse.Addr {
		serviceAddr(t, p, addr, "9000", "clickhouse.addr")
	}

	// The ClickHouse service gets the read-only user unchanged and the
	// demo's override after it (users.d merges in file-name order).
	ch := service(t, p, "clickhouse")
	base, override := "", ""
	for _, v := range ch.Volumes {
		if !strings.HasPrefix(v.Target, "/etc/clickhouse-server/users.d/") {
			continue
		}
		switch {
		case sameFile(t, v.Source, filepath.Join("clickhouse", "users.d", "mlmon.xml")):
			base = path.Base(v.Target)
		case sameFile(t, v.Source, filepath.Join("compose", "clickhouse", "mlmon-demo.xml")):
			override = path.Base(v.Target)
		}
	}
	if base == "" || override == "" {
		t.Fatalf("the clickhouse service must mount users.d/mlmon.xml and the demo override (have %q, %q)", base, override)
	}
	if override <= base {
		t.Errorf("users.d/%s sorts before users.d/%s: the override would be merged first and lose", override, base)
	}
	user := parseUsersXML(t, filepath.Join("compose", "clickhouse", "mlmon-demo.xml"))
	demo, ok := user.Users[cfg.ClickHouse.Username]
	if !ok {
		t.Fatalf("the demo override does not configure user %s", cfg.ClickHouse.Username)
	}
	sum := sha256.Sum256([]byte(cfg.ClickHouse.Password.Reveal()))
	if demo.PasswordSHA256.Value != hex.EncodeToString(sum[:]) || demo.PasswordSHA256.Replace != "replace" {
		t.Error("the demo override's password_sha256_hex (replace=\"replace\") is not the hash of deploy/compose/clickhouse-password")
	}
	if demo.AllowDatabases.Replace != "replace" || !slices.Equal(demo.AllowDatabases.Databases, []string{cfg.ClickHouse.Database}) {
		t.Errorf("the demo override allows databases %v (replace=%q), the exporter reads %s", demo.AllowDatabases.Databases, demo.AllowDatabases.Replace, cfg.ClickHouse.Database)
	}
}

// usersXML is the part of a ClickHouse users file these checks read.
type usersXML struct {
	Users map[string]userXML
}

type userXML struct {
	PasswordSHA256 struct {
		Value   string `xml:",chardata"`
		Replace string `xml:"replace,attr"`
	} `xml:"password_sha256_hex"`
	AllowDatabases struct {
		Replace   string   `xml:"replace,attr"`
		Databases []string `xml:"database"`
	} `xml:"allow_databases"`
}

func parseUsersXML(t *testing.T, file string) usersXML {
	t.Helper()
	var doc struct {
		Users struct {
			Inner []byte `xml:",innerxml"`
		} `xml:"users"`
	}
	data := readFile(t, file)
	must(t, xml.Unmarshal(data, &doc), "%s", file)
	// <users> holds one element per user, named after the user.
	out := usersXML{Users: map[string]userXML{}}
	dec := xml.NewDecoder(bytes.NewReader(doc.Users.Inner))
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			var u userXML
			must(t, dec.DecodeElement(&u, &se), "%s: user %s", file, se.Name.Local)
			out.Users[se.Name.Local] = u
		}
	}
	return out
}

// TestComposeDemodata: the writer's flags exist, it writes to the stack's
// ClickHouse, and the exporter starts only after the seeding finished.
func TestComposeDemodata(t *testing.T) {
	p := loadCompose(t)
	bin := binary(t, "demodata")
	seed, live := service(t, p, "demodata-seed"), service(t, p, "demodata")
	for _, s := range []composetypes.ServiceConfig{seed, live} {
		checkArgs(t, bin, s.Command, "compose "+s.Name+" command")
		serviceAddr(t, p, commandFlag(s, "clickhouse.addr", ""), "9000", s.Name+" --clickhouse.addr")
		if s.Build == nil || s.Build.Target != "demodata" {
			t.Errorf("%s must build the Dockerfile's demodata target", s.Name)
		}
	}
	if slices.Contains(seed.Command, "--live") {
		t.Error("demodata-seed runs --live: it would never complete, and the exporter waits for it")
	}
	if !slices.Contains(live.Command, "--live") || commandFlag(live, "reference.length", "") != "0s" || commandFlag(live, "history", "") != "0s" {
		t.Error("demodata must stream (--live) without writing the reference or the history again")
	}
	if commandFlag(live, "seed", "1") == commandFlag(seed, "seed", "1") {
		t.Error("both writers use the same --seed: their request ids would collide")
	}
	for _, name := range []string{"exporter", "demodata"} {
		dep, ok := service(t, p, name).DependsOn["demodata-seed"]
		if !ok || dep.Condition != composetypes.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s must wait for demodata-seed to complete", name)
		}
	}
	if dep := seed.DependsOn["clickhouse"]; dep.Condition != composetypes.ServiceConditionHealthy {
		t.Error("demodata-seed must wait for a healthy ClickHouse")
	}
	if service(t, p, "clickhouse").HealthCheck == nil {
		t.Error("the clickhouse service has no healthcheck to wait for")
	}
}

// promConfig is the part of prometheus.yml these checks read.
type promConfig struct {
	Global struct {
		ScrapeInterval string `yaml:"scrape_interval"`
	} `yaml:"global"`
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// TestComposePrometheus: Prometheus loads the generated rules bundle,
// scrapes the exporter under a job MLMonExporterDown watches, alerts to the
// stack's Alertmanager, and its configuration passes `promtool check
// config` (with the rule files, through their mounts, checked too).
func TestComposePrometheus(t *testing.T) {
	promtool := tool(t, "promtool", "apt-get install prometheus")
	p := loadCompose(t)
	prom := service(t, p, "prometheus")
	inContainer := commandFlag(prom, "config.file", "/etc/prometheus/prometheus.yml")
	host, ok := hostPath(t, p, prom, inContainer)
	if !ok {
		t.Fatalf("nothing is mounted at %s", inContainer)
	}
	data := readFile(t, host)
	var cfg promConfig
	must(t, yaml.Unmarshal(data, &cfg), "%s", host)

	if len(cfg.RuleFiles) == 0 {
		t.Error("Prometheus loads no rules")
	}
	hostConfig := string(data)
	for _, rf := range cfg.RuleFiles {
		if !path.IsAbs(rf) {
			rf = path.Join(path.Dir(inContainer), rf)
		}
		h, ok := hostPath(t, p, prom, rf)
		if !ok || !sameFile(t, h, filepath.Join(repoRoot(t), "rules", "mlmon.rules.yml")) {
			t.Errorf("rule file %s is not rules/mlmon.rules.yml (mounted from %q)", rf, h)
			continue
		}
		hostConfig = strings.ReplaceAll(hostConfig, rf, h)
	}

	jobRe := exporterDownJobRegex(t)
	scrapesExporter := false
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				if strings.HasPrefix(target, "exporter:") {
					scrapesExporter = true
					serviceAddr(t, p, target, "9786", "scrape target")
					if !jobRe.MatchString(sc.JobName) {
						t.Errorf("job %q scrapes the exporter, but MLMonExporterDown watches %s", sc.JobName, jobRe)
					}
				}
			}
		}
	}
	if !scrapesExporter {
		t.Error("Prometheus does not scrape exporter:9786")
	}
	var am []string
	for _, a := range cfg.Alerting.Alertmanagers {
		for _, sc := range a.StaticConfigs {
			am = append(am, sc.Targets...)
		}
	}
	if len(am) != 1 {
		t.Errorf("alertmanager targets %v, want the stack's one", am)
	}
	for _, a := range am {
		serviceAddr(t, p, a, "9093", "alertmanager target")
	}

	// Grafana's $__rate_interval assumes the datasource knows the interval.
	grafana := service(t, p, "grafana")
	dsHost, ok := hostPath(t, p, grafana, "/etc/grafana/provisioning/datasources/mlmon.yaml")
	if !ok {
		t.Fatal("no Grafana datasource is provisioned")
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, UID, URL, Access string
			JSONData                     struct {
				TimeInterval string `yaml:"timeInterval"`
			} `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	must(t, yaml.Unmarshal(readFile(t, dsHost), &ds), "%s", dsHost)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("%s: want apiVersion 1 and one datasource", dsHost)
	}
	d := ds.Datasources[0]
	if d.Type != "prometheus" || d.UID == "" || d.Access != "proxy" {
		t.Errorf("datasource %+v: want type prometheus, a fixed uid, access proxy", d)
	}
	if addr, ok := strings.CutPrefix(d.URL, "http://"); ok {
		serviceAddr(t, p, addr, "9090", "datasource url")
	} else {
		t.Errorf("datasource url %s", d.URL)
	}
	si, err1 := model.ParseDuration(cfg.Global.ScrapeInterval)
	ti, err2 := model.ParseDuration(d.JSONData.TimeInterval)
	if err1 != nil || err2 != nil || si != ti {
		t.Errorf("datasource timeInterval %q differs from Prometheus's scrape_interval %q", d.JSONData.TimeInterval, cfg.Global.ScrapeInterval)
	}

	// promtool on the same configuration with the rule files at their
	// paths on this machine: it checks the rules too.
	dir := t.TempDir()
	file := filepath.Join(dir, "prometheus.yml")
	must(t, os.WriteFile(file, []byte(hostConfig), 0o644), "write")
	if out, err := exec.Command(promtool, "check", "config", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

var (
	alertmanagerPath = regexp.MustCompile(`/etc/alertmanager/[^\s'"]+`)
	amtoolTemplates  = regexp.MustCompile(`- [1-9][0-9]* templates\s+SUCCESS`)
)

// TestComposeAlertmanager: every file the shipped alertmanager.yml names is
// mounted where it names it, the templates too, and the configuration
// passes `amtool check-config` with those files.
func TestComposeAlertmanager(t *testing.T) {
	amtool := tool(t, "amtool", "apt-get install prometheus-alertmanager")
	p := loadCompose(t)
	am := service(t, p, "alertmanager")
	inContainer := commandFlag(am, "config.file", "/etc/alertmanager/alertmanager.yml")
	host, ok := hostPath(t, p, am, inContainer)
	if !ok || !sameFile(t, host, filepath.Join(repoRoot(t), "alertmanager", "alertmanager.yml")) {
		t.Fatalf("%s is not alertmanager/alertmanager.yml (mounted from %q)", inContainer, host)
	}
	data := readFile(t, host)

	// Absolute paths, the commented e-mail block's included: the secrets.
	rewritten := string(data)
	paths := alertmanagerPath.FindAllString(rewritten, -1)
	if len(paths) == 0 {
		t.Fatal("alertmanager.yml names no file under /etc/alertmanager")
	}
	for _, cp := range paths {
		h, ok := hostPath(t, p, am, cp)
		if !ok {
			t.Errorf("alertmanager.yml reads %s, which is not mounted", cp)
			continue
		}
		if _, err := os.Stat(h); err != nil {
			t.Errorf("alertmanager.yml reads %s: %v", cp, err)
		}
		rewritten = strings.ReplaceAll(rewritten, cp, h)
	}

	// Templates are relative to the configuration file.
	var cfg struct {
		Templates []string `yaml:"templates"`
	}
	must(t, yaml.Unmarshal(data, &cfg), "parse")
	dir := t.TempDir()
	for _, glob := range cfg.Templates {
		if path.IsAbs(glob) {
			t.Errorf("template %s: the shipped file uses paths relative to itself", glob)
			continue
		}
		cdir := path.Dir(path.Join(path.Dir(inContainer), glob))
		hdir, ok := hostPath(t, p, am, cdir)
		if !ok {
			t.Errorf("templates %s: %s is not mounted", glob, cdir)
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(hdir, path.Base(glob)))
		if len(matches) == 0 {
			t.Errorf("templates %s match no file in %s", glob, hdir)
		}
		// The same relative layout next to the rewritten copy.
		link := filepath.Join(dir, path.Dir(glob))
		must(t, os.MkdirAll(filepath.Dir(link), 0o755), "mkdir")
		if _, err := os.Lstat(link); err != nil {
			must(t, os.Symlink(hdir, link), "symlink")
		}
	}
	file := filepath.Join(dir, "alertmanager.yml")
	must(t, os.WriteFile(file, []byte(rewritten), 0o644), "write")
	out, err := exec.Command(amtool, "check-config", file).CombinedOutput()
	if err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
	// amtool parses the templates it finds and says so.
	if len(cfg.Templates) > 0 && !amtoolTemplates.Match(out) {
		t.Errorf("amtool did not find and parse the templates:\n%s", out)
	}
}

// TestComposeGrafanaDashboards: the provisioning file and the dashboards
// come from dashboards/, and the provider's path is where the JSON is
// mounted. Until dashboards/ generates them the absence is reported.
func TestComposeGrafanaDashboards(t *testing.T) {
	p := loadCompose(t)
	g := service(t, p, "grafana")
	providerFile, ok := hostPath(t, p, g, "/etc/grafana/provisioning/dashboards/mlmon.yaml")
	if !ok || !sameFileOrPending(t, providerFile, filepath.Join(repoRoot(t), "dashboards", "provisioning", "dashboards.yaml")) {
		t.Fatalf("the dashboards provider is not dashboards/provisioning/dashboards.yaml (mounted from %q)", providerFile)
	}
	data, err := os.ReadFile(providerFile)
	if err != nil {
		t.Logf("%s does not exist yet: nothing more to check", providerFile)
		return
	}
	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	must(t, yaml.Unmarshal(data, &prov), "%s", providerFile)
	if len(prov.Providers) == 0 {
		t.Fatalf("%s provides nothing", providerFile)
	}
	for _, pr := range prov.Providers {
		dir, ok := hostPath(t, p, g, pr.Options.Path)
		if !ok {
			t.Errorf("provider %s reads %s, where compose mounts nothing", pr.Name, pr.Options.Path)
			continue
		}
		if !sameFile(t, dir, filepath.Join(repoRoot(t), "dashboards", "json")) {
			t.Errorf("provider %s reads %s, mounted from %s, not dashboards/json", pr.Name, pr.Options.Path, dir)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(m) == 0 {
			t.Errorf("provider %s: no dashboards in %s", pr.Name, dir)
		}
	}
}

func sameFileOrPending(t *testing.T, a, b string) bool {
	t.Helper()
	if _, err := os.Stat(b); err != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return sameFile(t, a, b)
}
