package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/freeport"
)

var (
	server *chtest.Server
	binary string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mlmon-exporter-test-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "exporter")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build exporter: %v\n%s", err, out)
		os.Exit(1)
	}
	code := chtest.Run(m, &server)
	os.RemoveAll(dir)
	os.Exit(code)
}

const testSchema = `CREATE TABLE IF NOT EXISTS p (ts DateTime, request_id String, prediction Float64, x Float64) ENGINE = MergeTree ORDER BY ts`

func writeConfig(t *testing.T, path, addr string, models ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "clickhouse: {addr: [%q], dial_timeout: 1s}\nmodels:\n", addr)
	for _, m := range models {
		fmt.Fprintf(&b, "  - name: %s\n    task: regression\n    predictions: {table: p, timestamp: ts, id: request_id, prediction: prediction}\n"+
			"    features: [{name: x, type: numeric}]\n    reference: {offset: 1h}\n", m)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freeAddr is a loopback address nobody listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startExporter runs the real binary and waits until it is ready.
func startExporter(t *testing.T, configPath string) (addr string, cmd *exec.Cmd, logs *bytes.Buffer) {
	t.Helper()
	addr = freeAddr(t)
	logs = &bytes.Buffer{}
	cmd = exec.Command(binary, "--config.file="+configPath, "--web.listen-address="+addr, "--log.level=debug")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return addr, cmd, logs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter not ready: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func scrape(t *testing.T, addr string, timeout string) (string, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %s\n%s", resp.Status, body)
	}
	return string(body), time.Since(start)
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yml"), filepath.Join(dir, "bad.yml")
	writeConfig(t, good, server.Addr(), "m")
	os.WriteFile(bad, []byte("clickhouse: {addr: [\"x:1\"]}\nmodels:\n  - name: m\n    tsk: regression\n"), 0o644)
	if out, err := exec.Command(binary, "--config.file="+good, "--config.check").CombinedOutput(); err != nil {
		t.Errorf("valid config rejected: %v\n%s", err, out)
	}
	out, err := exec.Command(binary, "--config.file="+bad, "--config.check").CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Errorf("invalid config: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(string(out), "line 4") || !strings.Contains(string(out), "tsk") {
		t.Errorf("error should name the key and its line:\n%s", out)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// A real scrape passes promtool's lint, and the endpoints answer as
// Prometheus's own do.
func TestScrapeEndpointsAndLint(t *testing.T) {
	if err := server.Exec(context.Background(), testSchema); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mlmon.yml")
	writeConfig(t, path, server.Addr(), "m")
	addr, _, logs := startExporter(t, path)
	body, _ := scrape(t, addr, "10")
	for _, want := range []string{"mlmon_clickhouse_up 1", `mlmon_scrape_success{model="m"} 1`, "mlmon_build_info{", "process_cpu_seconds_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = strings.NewReader(body)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for path, code := range map[string]int{"/": 200, "/-/healthy": 200, "/-/ready": 200} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil || resp.StatusCode != code {
			t.Errorf("GET %s: %v %v", path, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	// The landing page links the report pages, which are served.
	landing, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(landing.Body)
	landing.Body.Close()
	if !strings.Contains(string(page), `href="/models"`) {
		t.Errorf("the landing page does not link /models:\n%s", page)
	}
	if models, err := http.Get("http://" + addr + "/models"); err != nil || models.StatusCode != 200 {
		t.Errorf("GET /models: %v %v", models, err)
	} else {
		models.Body.Close()
	}
	resp, _ := http.Get("http://" + addr + "/-/reload")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", resp.StatusCode)
	}
	resp.Body.Close()
	_ = logs
}

// A broken edit keeps the running configuration; a valid one takes effect
// on the next scrape, by POST /-/reload and by SIGHUP.
func TestReload(t *testing.T) {
	if err := server.Exec(context.Background(), testSchema); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mlmon.yml")
	writeConfig(t, path, server.Addr(), "first")
	addr, cmd, logs := startExporter(t, path)

	os.WriteFile(path, []byte("models: [{name: broken"), 0o644)
	resp, err := http.Post("http://"+addr+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(msg), "line") {
		t.Errorf("invalid reload: %d %s", resp.StatusCode, msg)
	}
	if body, _ := scrape(t, addr, "10"); !strings.Contains(body, `mlmon_scrape_success{model="first"} 1`) {
		t.Errorf("the running configuration was lost:\n%s", body)
	}

	writeConfig(t, path, server.Addr(), "second")
	resp, err = http.Post("http://"+addr+"/-/reload", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("valid reload: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if body, _ := scrape(t, addr, "10"); !strings.Contains(body, `mlmon_scrape_success{model="second"} 1`) || strings.Contains(body, `model="first"} 1`) {
		t.Errorf("reload did not take effect:\n%s", body)
	}

	writeConfig(t, path, server.Addr(), "third")
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for {
		body, _ := scrape(t, addr, "10")
		if strings.Contains(body, `mlmon_scrape_success{model="third"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP reload did not take effect:\n%s\n%s", body, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ClickHouse unreachable: the scrape still answers, quickly, and says so.
func TestClickHouseUnreachable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlmon.yml")
	writeConfig(t, path, freeAddr(t), "m") // nothing listens there
	addr, _, _ := startExporter(t, path)
	body, took := scrape(t, addr, "3")
	if !strings.Contains(body, "mlmon_clickhouse_up 0") || !strings.Contains(body, `mlmon_scrape_success{model="m"} 0`) {
		t.Errorf("outage not reported:\n%s", body)
	}
	if took > 3*time.Second {
		t.Errorf("scrape took %s, beyond the 3s scrape timeout", took)
	}
}
