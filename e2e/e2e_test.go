package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mlmon/mlmon/internal/freeport"
	"github.com/mlmon/mlmon/internal/stacktest"
)

// notification is what the recorder keeps of one webhook call.
type notification struct {
	receiver string
	status   string // firing or resolved
	alerts   []string
}

// recorder is the webhook every receiver of the shipped routes is pointed
// at, one path per receiver.
type recorder struct {
	mu   sync.Mutex
	seen []notification
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var msg struct {
		Status string `json:"status"`
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(req.Body).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n := notification{receiver: strings.TrimPrefix(req.URL.Path, "/"), status: msg.Status}
	for _, a := range msg.Alerts {
		n.alerts = append(n.alerts, a.Labels["alertname"]+"/"+a.Labels["model"]+"/"+a.Status)
	}
	r.mu.Lock()
	r.seen = append(r.seen, n)
	r.mu.Unlock()
}

// received lists "alertname/model/status" delivered to receiver.
func (r *recorder) received(receiver string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.seen {
		if n.receiver == receiver {
			out = append(out, n.alerts...)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// mark is the number of notifications received so far, for since.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// since lists "alertname/model/status" delivered to receiver after mark.
func (r *recorder) since(mark int, receiver string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.seen[mark:] {
		if n.receiver == receiver {
			out = append(out, n.alerts...)
		}
	}
	return out
}

func (r *recorder) receivedAny(alert string) map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := map[string]bool{}
	for _, n := range r.seen {
		for _, a := range n.alerts {
			if strings.HasPrefix(a, alert+"/") {
				got[n.receiver] = true
			}
		}
	}
	return got
}

// testRules is the shipped rule file with every `for` divided by speedup,
// so that alerts keep their order (ClickHouse down fires before the model
// scrape failures it inhibits), but MLMonQueryErrors': its condition is an
// increase over 15 minutes, so a short `for` would page on one slow scrape,
// which no shipped timing does.
func testRules(t *testing.T, root, dir string, speedup int) string {
	b, err := os.ReadFile(filepath.Join(root, "rules", "mlmon.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, g := range doc["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			rule := r.(map[string]any)
			if rule["for"] == nil || rule["alert"] == "MLMonQueryErrors" {
				continue
			}
			d, err := time.ParseDuration(rule["for"].(string))
			if err != nil {
				t.Fatalf("%s: for: %v", rule["alert"], err)
			}
			rule["for"] = fmt.Sprintf("%dms", (d / time.Duration(speedup)).Milliseconds())
		}
	}
	out, _ := yaml.Marshal(doc)
	path := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// testAlertmanagerConfig is the shipped configuration — routes and
// inhibitions as they are — with every receiver's integrations replaced by
// a webhook to the recorder and the group timings shortened.
func testAlertmanagerConfig(t *testing.T, root, dir, recorderURL string) string {
	b, err := os.ReadFile(filepath.Join(root, "alertmanager", "alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "templates")
	for _, r := range doc["receivers"].([]any) {
		rcv := r.(map[string]any)
		name := rcv["name"].(string)
		for k := range rcv {
			if k != "name" {
				delete(rcv, k)
			}
		}
		if name != "null" {
			rcv["webhook_configs"] = []any{map[string]any{"url": recorderURL + "/" + name, "send_resolved": true}}
		}
	}
	var shorten func(route map[string]any)
	shorten = func(route map[string]any) {
		for _, k := range []string{"group_wait", "group_interval"} {
			if route[k] != nil {
				route[k] = "1s"
			}
		}
		if sub, ok := route["routes"].([]any); ok {
			for _, s := range sub {
				shorten(s.(map[string]any))
			}
		}
	}
	shorten(doc["route"].(map[string]any))
	out, _ := yaml.Marshal(doc)
	path := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func startAlertmanager(t *testing.T, dir, config string) string {
	addr := freeAddr(t)
	logf, _ := os.Create(filepath.Join(dir, "alertmanager.log"))
	cmd := exec.Command("prometheus-alertmanager", "--config.file="+config, "--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start alertmanager: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	waitFor(t, 30*time.Second, "alertmanager ready", func() error {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	})
	return addr
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// firing lists the firing MLMon alerts as "alertname/model".
func firing(s *stacktest.Stack) ([]string, error) {
	v, err := s.Query(`ALERTS{alertname=~"MLMon.+", alertstate="firing"}`)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, smp := range v {
		out = append(out, smp.Metric["alertname"]+"/"+smp.Metric["model"])
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// amAlerts lists Alertmanager's view: "alertname/model" → state
// (active/suppressed).
func amAlerts(t *testing.T, addr string) map[string]string {
	resp, err := http.Get("http://" + addr + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var alerts []struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.Unmarshal(body, &alerts); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	out := map[string]string{}
	for _, a := range alerts {
		out[a.Labels["alertname"]+"/"+a.Labels["model"]] = a.Status.State
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestAlertsEndToEnd(t *testing.T) {
	root, err := stacktest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rec := &recorder{}
	hook := httptest.NewServer(rec)
	defer hook.Close()
	am := startAlertmanager(t, dir, testAlertmanagerConfig(t, root, dir, hook.URL))
	s := stacktest.Start(t, stacktest.Options{
		RuleFiles:     []string{testRules(t, root, dir, 120)},
		Alertmanagers: []string{am},
		// A 3 s scrape (and evaluation) interval keeps the scrape's budget
		// comfortable on a busy 2-core machine; the rules' `for`, two
		// minutes to the second (2.5 s to 15 s), spans at least one.
		ScrapeInterval: 3 * time.Second,
	})
	start := time.Now()

	// churn tolerates any accuracy drop in this test, so that its drift
	// alerts reach their own tiers instead of being inhibited by a critical
	// one; intent keeps the default and pages. A per-model threshold is
	// configuration, applied by a reload.
	cfg, err := os.ReadFile(s.ExporterConfig)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(cfg), "thresholds: {accuracy_drop_max: 0.05,", "thresholds: {accuracy_drop_max: 0.9,", 1)
	if edited == string(cfg) {
		t.Fatal("the demo configuration no longer has churn's accuracy_drop_max to override")
	}
	if err := os.WriteFile(s.ExporterConfig, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.ExporterURL()+"/-/reload", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("reload: %v %v", resp, err)
	}
	resp.Body.Close()

	// 1. Healthy data raises no alert, past the shortened `for` of every
	// model alert (at most 15 s).
	time.Sleep(20 * time.Second)
	if f, err := firing(s); err != nil || len(f) > 0 {
		t.Fatalf("healthy demo data: firing %v (%v)", f, err)
	}
	if len(rec.seen) > 0 {
		t.Fatalf("healthy demo data: notifications %v", rec.seen)
	}
	t.Logf("healthy: no alert after %s", time.Since(start).Round(time.Second))

	// 2. Drift: severe drift over the last 2.5 hours (features shifted,
	// models worse), four times the healthy traffic, so that four in five
	// of the current window's rows have drifted.
	if err := s.RunDemodata("--reference.length=0s", "--history=150m", "--drift=1", "--rate=4", "--seed=2"); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"pager":  {"MLMonAccuracyDrop/intent/firing"},
		"ticket": {"MLMonFeatureDriftMultiple/churn/firing"},
		"chat":   {"MLMonFeatureDriftMultiple/churn/firing", "MLMonPredictionDrift/churn/firing"},
	}
	waitFor(t, 90*time.Second, "drift alerts routed by tier", func() error {
		for receiver, alerts := range want {
			got := rec.received(receiver)
			for _, a := range alerts {
				if !slices.Contains(got, a) {
					f, _ := firing(s)
					psi, _ := s.Query(`mlmon_feature_psi{model="churn"}`)
					return fmt.Errorf("%s has %v, lacks %s (firing in Prometheus: %v; churn PSI %v)", receiver, got, a, f, psi)
				}
			}
		}
		return nil
	})
	t.Logf("drift: routed after %s", time.Since(start).Round(time.Second))
	f, _ := firing(s)
	if !slices.Contains(f, "MLMonFeatureDrift/churn") {
		t.Errorf("MLMonFeatureDrift (low) should fire for churn: %v", f)
	}
	if got := rec.receivedAny("MLMonFeatureDrift"); len(got) > 0 {
		t.Errorf("low-tier MLMonFeatureDrift notified %v; it must only be visible", got)
	}
	// intent pages, so its lower-tier alerts are inhibited: in Alertmanager,
	// suppressed and never delivered.
	var inhibited []string
	waitFor(t, 30*time.Second, "intent's lower-tier alerts suppressed", func() error {
		f, err := firing(s)
		if err != nil {
			return err
		}
		states := amAlerts(t, am)
		inhibited = inhibited[:0]
		for _, a := range f {
			if !strings.HasSuffix(a, "/intent") || strings.HasPrefix(a, "MLMonAccuracyDrop/") {
				continue
			}
			if states[a] != "suppressed" {
				return fmt.Errorf("%s fires beside intent's critical alert but is %q in Alertmanager, want suppressed", a, states[a])
			}
			inhibited = append(inhibited, a)
		}
		if len(inhibited) == 0 {
			return fmt.Errorf("no lower-tier alert of intent fires (firing: %v)", f)
		}
		return nil
	})
	// Inhibition is not retroactive: the drift alerts and the accuracy drop
	// share a `for`, so one of them may reach chat in the seconds before the
	// page, as in production when drift shows before the labels do. From
	// now on, none may.
	mark := rec.mark()
	time.Sleep(5 * time.Second) // five of the test's group intervals
	for _, r := range []string{"chat", "ticket"} {
		for _, n := range rec.since(mark, r) {
			for _, a := range inhibited {
				if n == a+"/firing" {
					t.Errorf("inhibited %s was delivered to %s", a, r)
				}
			}
		}
		for _, n := range rec.received(r) {
			for _, a := range inhibited {
				if n == a+"/firing" {
					t.Logf("%s reached %s before intent's page", a, r)
				}
			}
		}
	}
	t.Logf("drift: %v suppressed by intent's page", inhibited)

	// 3. The data recovers: the drifted rows are gone and healthy ones
	// written again; every alert resolves, and the pager hears so.
	if err := s.ClickHouse.Exec(t.Context(), "TRUNCATE TABLE predictions", "TRUNCATE TABLE ground_truth",
		"TRUNCATE TABLE eta_predictions", "TRUNCATE TABLE eta_ground_truth"); err != nil {
		t.Fatal(err)
	}
	if err := s.RunDemodata("--history=2h", "--rate=1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "alerts resolved", func() error {
		if f, err := firing(s); err != nil || len(f) > 0 {
			return fmt.Errorf("still firing: %v %v", f, err)
		}
		if !slices.Contains(rec.received("pager"), "MLMonAccuracyDrop/intent/resolved") {
			return fmt.Errorf("pager has %v, no resolution", rec.received("pager"))
		}
		return nil
	})
	t.Logf("recovery: resolved after %s", time.Since(start).Round(time.Second))

	// 4. ClickHouse stops: the outage pages, and the model alerts it causes
	// are inhibited.
	s.StopClickHouse()
	waitFor(t, 60*time.Second, "outage paged, model alerts inhibited", func() error {
		if !slices.Contains(rec.received("pager"), "MLMonClickHouseDown//firing") {
			return fmt.Errorf("pager has %v", rec.received("pager"))
		}
		states := amAlerts(t, am)
		n := 0
		for a, state := range states {
			if strings.HasPrefix(a, "MLMonModelScrapeFailing/") {
				n++
				if state != "suppressed" {
					return fmt.Errorf("%s is %s during the outage", a, state)
				}
			}
		}
		if n < 3 {
			return fmt.Errorf("%d model scrape alerts in Alertmanager, want one per model: %v", n, states)
		}
		return nil
	})
	for _, r := range []string{"chat", "ticket"} {
		for _, a := range rec.received(r) {
			if strings.HasPrefix(a, "MLMonModelScrapeFailing/") {
				t.Errorf("inhibited %s delivered to %s", a, r)
			}
		}
	}
	t.Logf("outage: paged and inhibited after %s", time.Since(start).Round(time.Second))
}
