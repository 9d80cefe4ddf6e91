package main

// The harness of the reliability and security tests: the real exporter
// binary (built once in TestMain) run with any flags and environment, its
// JSON log parsed line by line, and its scrapes parsed into series. Private
// ClickHouse servers come from chtest (chtest.StartWith for TLS and a users
// file).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// exporterOpts says how to run the binary. The log is always JSON at debug
// level: the most the exporter ever says, parsed line by line.
type exporterOpts struct {
	config string
	args   []string // beyond --config.file, --web.listen-address and the log flags
	env    []string // added to a minimal environment
	client *http.Client
	scheme string // "http" unless set
	user   string // basic auth on every request when set
	pass   string
}

// proc is a running exporter.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	logs   *lockedBuffer
	base   string
	opts   exporterOpts
	exited chan struct{}
}

// runExporter starts the binary and waits until /-/ready answers 200.
// The process is killed when the test ends.
func runExporter(t testing.TB, opts exporterOpts) *proc {
	t.Helper()
	if opts.client == nil {
		// Longer than any scrape timeout the tests send: a hung exporter
		// fails the test instead of stalling it.
		opts.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	}
	if opts.scheme == "" {
		opts.scheme = "http"
	}
	addr := freeAddr(t)
	args := append([]string{"--config.file=" + opts.config, "--web.listen-address=" + addr,
		"--log.level=debug", "--log.format=json"}, opts.args...)
	p := &proc{t: t, logs: &lockedBuffer{}, base: opts.scheme + "://" + addr, opts: opts, exited: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	// Only what the exporter needs: no inherited MLMON_* variable can leak
	// into a test that did not ask for it.
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, opts.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := p.do("GET", "/-/ready", nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("exporter exited: %v\n%s", p.cmd.ProcessState, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter not ready: %v\n%s", err, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *proc) do(method, path string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequest(method, p.base+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if p.opts.user != "" {
		req.SetBasicAuth(p.opts.user, p.opts.pass)
	}
	return p.opts.client.Do(req)
}

// scrape GETs /metrics with Prometheus's timeout header (seconds) and
// returns the status, the body and how long the answer took.
func (p *proc) scrape(timeout string) (int, string, time.Duration) {
	p.t.Helper()
	start := time.Now()
	resp, err := p.do("GET", "/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {timeout}})
	if err != nil {
		p.t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatalf("scrape: %v", err)
	}
	return resp.StatusCode, string(body), time.Since(start)
}

// metrics scrapes and parses; any status but 200 fails the test.
func (p *proc) metrics(timeout string) map[string]float64 {
	p.t.Helper()
	code, body, _ := p.scrape(timeout)
	if code != 200 {
		p.t.Fatalf("scrape: %d\n%s", code, body)
	}
	return parseMetrics(p.t, body)
}

// logsOnceContaining returns the log once it contains s, or as it is after
// within. The exporter's output reaches the buffer through os/exec's copying
// goroutine, so a line written before a scrape's answer may arrive after it.
func (p *proc) logsOnceContaining(s string, within time.Duration) string {
	deadline := time.Now().Add(within)
	for {
		logs := p.logs.String()
		if strings.Contains(logs, s) || time.Now().After(deadline) {
			return logs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logLines parses the log: every line must be a JSON object.
func (p *proc) logLines() []map[string]any {
	p.t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			p.t.Errorf("log line is not JSON: %s", line)
			continue
		}
		out = append(out, m)
	}
	return out
}

// status reads a field of /proc/<pid>/status in bytes (VmRSS, VmHWM).
func (p *proc) status(field string) int64 {
	p.t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		p.t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				p.t.Fatal(err)
			}
			return kb << 10
		}
	}
	p.t.Fatalf("no %s in /proc/<pid>/status", field)
	return 0
}

// parseMetrics flattens an exposition into "name{a="x",b="y"}" → value,
// labels sorted by name, as the collector tests do.
func parseMetrics(t testing.TB, body string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse scrape: %v\n%s", err, body)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[seriesKey(name, m)] = metricValue(m)
		}
	}
	return out
}

func seriesKey(name string, m *dto.Metric) string {
	var labels []string
	for _, l := range m.GetLabel() {
		labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(labels)
	return name + "{" + strings.Join(labels, ",") + "}"
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	case m.Summary != nil:
		return m.Summary.GetSampleSum()
	case m.Histogram != nil:
		return m.Histogram.GetSampleSum()
	}
	return 0
}

// want checks series values exactly; a missing series is an error.
func want(t testing.TB, got map[string]float64, expected map[string]float64) {
	t.Helper()
	for k, w := range expected {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
		}
	}
}

// writeFile writes a test file and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// logsWith returns the log lines whose every given attribute contains the
// given text (key "msg" for the message).
func logsWith(lines []map[string]any, match map[string]string) []map[string]any {
	var out []map[string]any
next:
	for _, l := range lines {
		for k, sub := range match {
			v, ok := l[k]
			if !ok || !strings.Contains(fmt.Sprint(v), sub) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}
