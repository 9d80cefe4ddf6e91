package stacktest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chtest"
)

// Options configure a stack; the zero value is the demo stack.
type Options struct {
	// RuleFiles are the Prometheus rule files to load, absolute or relative
	// to the repository root. nil loads rules/mlmon.rules.yml when it
	// exists; an empty non-nil slice loads none.
	RuleFiles []string
	// Alertmanagers are host:port addresses Prometheus sends alerts to.
	Alertmanagers []string
	// PrometheusConfig is YAML appended to the generated prometheus.yml at
	// the top level (it must not repeat a top-level key the stack writes:
	// global, rule_files, alerting, scrape_configs).
	PrometheusConfig string
	// Demodata are the arguments of the seeding run of cmd/demodata, beside
	// --clickhouse.addr. nil: a reference day and two hours of history at
	// one prediction per second per model, no drift.
	Demodata []string
	// ExporterArgs are extra flags of the exporter, after
	// --scrape.timeout-offset=150ms (see defaultExporterArgs).
	ExporterArgs []string
	// ScrapeInterval is Prometheus's scrape and evaluation interval and the
	// scrape timeout (default 1s).
	ScrapeInterval time.Duration
	// Timeout bounds every wait for a component (default 60s).
	Timeout time.Duration
	// KeepDir keeps the temporary directory (data and logs) after Close.
	KeepDir bool
}

// defaultDemodata is the seeding run when Options.Demodata is nil.
var defaultDemodata = []string{"--history=2h", "--rate=1"}

// Stack is a running ClickHouse + demo data + exporter + Prometheus.
type Stack struct {
	// Dir holds every component's data, configuration and log.
	Dir string
	// Root is the repository root (the directory of go.mod).
	Root string
	// ClickHouse is the private server with the demo tables.
	ClickHouse *chtest.Server
	// ExporterAddr and PrometheusAddr are host:port on loopback.
	ExporterAddr, PrometheusAddr string
	// ExporterConfig is the exporter's configuration file: the shipped demo
	// configuration with the ClickHouse address replaced.
	ExporterConfig string

	opts       Options
	demodata   string // binary
	exporter   *proc
	prometheus *proc
}

// ExporterURL is the exporter's base URL.
func (s *Stack) ExporterURL() string { return "http://" + s.ExporterAddr }

// PrometheusURL is Prometheus's base URL.
func (s *Stack) PrometheusURL() string { return "http://" + s.PrometheusAddr }

// Start starts a stack for a test and stops it at the test's cleanup; a
// stack that cannot start fails the test. The directory is kept when the
// test fails, and its path logged.
func Start(tb testing.TB, opts Options) *Stack {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("stacktest: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			s.opts.KeepDir = true
			tb.Logf("stacktest: files and logs kept in %s", s.Dir)
		}
		if err := s.Close(); err != nil {
			tb.Logf("stacktest: %v", err)
		}
	})
	return s
}

// New starts a stack; the caller must Close it. It is for TestMain, where
// there is no testing.TB; tests use Start.
func New(opts Options) (s *Stack, err error) {
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.Demodata == nil {
		opts.Demodata = defaultDemodata
	}
	// Fail early and clearly on a machine without the servers.
	if _, err := exec.LookPath("prometheus"); err != nil {
		return nil, errors.New("prometheus not found on PATH (apt-get install prometheus)")
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mlmon-stack-")
	if err != nil {
		return nil, err
	}
	s = &Stack{Dir: dir, Root: root, opts: opts}
	defer func() {
		if err != nil {
			s.opts.KeepDir = true
			s.Close()
			err = fmt.Errorf("%w\n(files and logs kept in %s)", err, dir)
		}
	}()

	// Building the binaries and starting ClickHouse are independent and
	// each takes seconds: overlap them.
	built := make(chan error, 1)
	go func() { built <- s.build() }()
	s.ClickHouse, err = chtest.Start(filepath.Join(dir, "clickhouse"))
	if berr := <-built; berr != nil {
		return s, berr
	}
	if err != nil {
		return s, err
	}
	if err := s.applySchema(); err != nil {
		return s, err
	}
	if err := s.RunDemodata(opts.Demodata...); err != nil {
		return s, fmt.Errorf("seed demo data: %w", err)
	}
	if err := s.startExporter(); err != nil {
		return s, err
	}
	if err := s.startPrometheus(); err != nil {
		return s, err
	}
	return s, nil
}

// build compiles the exporter and the demo data writer into the stack's
// directory, so tests run the code of the working tree.
func (s *Stack) build() error {
	cmd := exec.Command("go", "build", "-o", s.Dir+string(filepath.Separator), "./cmd/exporter", "./cmd/demodata")
	cmd.Dir = s.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/exporter ./cmd/demodata: %w\n%s", err, out)
	}
	s.demodata = filepath.Join(s.Dir, "demodata")
	return nil
}

// RunDemodata runs cmd/demodata against the stack's ClickHouse with args
// (beside --clickhouse.addr) and waits for it to exit 0. Every run also
// writes the reference period again unless args include
// --reference.length=0s; pass --history, --drift and a new --seed to add
// recent data, e.g. to inject drift:
//
//	s.RunDemodata("--reference.length=0s", "--history=30m", "--drift=1", "--seed=2")
func (s *Stack) RunDemodata(args ...string) error {
	p, err := startProc(s.Dir, "demodata", s.demodata, append([]string{"--clickhouse.addr=" + s.ClickHouse.Addr()}, args...)...)
	if err != nil {
		return err
	}
	return p.wait(s.opts.Timeout)
}

// StopClickHouse stops the ClickHouse server, keeping its ports and data,
// so a test can watch the exporter and the rules through an outage.
func (s *Stack) StopClickHouse() { s.ClickHouse.Stop() }

// StartClickHouse starts the stopped server again on the same ports with
// the same data.
func (s *Stack) StartClickHouse() error { return s.ClickHouse.Restart() }

// Close stops every process and removes the directory (unless KeepDir).
func (s *Stack) Close() error {
	s.prometheus.stop()
	s.exporter.stop()
	if s.ClickHouse != nil {
		s.ClickHouse.Stop()
	}
	if s.opts.KeepDir {
		return nil
	}
	return os.RemoveAll(s.Dir)
}

// RepoRoot is the directory of go.mod, found by walking up from the working
// directory (a test's working directory is its package's).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("stacktest: no go.mod above the working directory")
		}
		dir = parent
	}
}
