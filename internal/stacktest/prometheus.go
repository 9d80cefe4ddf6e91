package stacktest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mlmon/mlmon/internal/freeport"
)

// DefaultRuleFile is loaded when Options.RuleFiles is nil and it exists.
const DefaultRuleFile = "rules/mlmon.rules.yml"

// JobName is the scrape job of the exporter; the rules select mlmon's
// targets by job=~"mlmon.*".
const JobName = "mlmon"

func (s *Stack) ruleFiles() ([]string, error) {
	files := s.opts.RuleFiles
	if files == nil {
		if _, err := os.Stat(filepath.Join(s.Root, DefaultRuleFile)); err != nil {
			return nil, nil
		}
		files = []string{DefaultRuleFile}
	}
	var abs []string
	for _, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(s.Root, f)
		}
		// Prometheus treats rule_files as globs and ignores one that
		// matches nothing: a typo would silently load no rules.
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("rule file: %w", err)
		}
		abs = append(abs, f)
	}
	return abs, nil
}

// prometheusConfig renders prometheus.yml. Strings are quoted with
// strconv.Quote, which YAML reads as the same double-quoted string.
func (s *Stack) prometheusConfig() (string, error) {
	rules, err := s.ruleFiles()
	if err != nil {
		return "", err
	}
	iv := s.opts.ScrapeInterval.String()
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n", iv, iv, iv)
	b.WriteString("rule_files:\n")
	for _, f := range rules {
		fmt.Fprintf(&b, "  - %s\n", strconv.Quote(f))
	}
	if len(rules) == 0 {
		b.WriteString("  []\n")
	}
	if len(s.opts.Alertmanagers) > 0 {
		b.WriteString("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets:\n")
		for _, a := range s.opts.Alertmanagers {
			fmt.Fprintf(&b, "            - %s\n", strconv.Quote(a))
		}
	}
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: %s\n    static_configs:\n      - targets: [%s]\n", JobName, strconv.Quote(s.ExporterAddr))
	if extra := strings.TrimSpace(s.opts.PrometheusConfig); extra != "" {
		b.WriteString(extra + "\n")
	}
	return b.String(), nil
}

func (s *Stack) startPrometheus() error {
	cfg, err := s.prometheusConfig()
	if err != nil {
		return err
	}
	path := filepath.Join(s.Dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	if s.PrometheusAddr, err = freeport.Addr(); err != nil {
		return err
	}
	s.prometheus, err = startProc(s.Dir, "prometheus", "prometheus",
		"--config.file="+path,
		"--storage.tsdb.path="+filepath.Join(s.Dir, "prometheus"),
		"--web.listen-address="+s.PrometheusAddr,
		"--web.enable-lifecycle", // ReloadPrometheus
		"--log.level=warn",
	)
	if err != nil {
		return err
	}
	if err := poll(s.prometheus, s.opts.Timeout, "prometheus /-/ready", func() error {
		return httpOK(s.PrometheusURL()+"/-/ready", nil)
	}); err != nil {
		return err
	}
	return poll(s.prometheus, s.opts.Timeout, "first successful scrape of the exporter", func() error {
		v, err := s.Query(`up{job="` + JobName + `"} == 1`)
		if err == nil && len(v) == 0 {
			err = errors.New("up is not 1 yet")
		}
		return err
	})
}

// ReloadPrometheus makes Prometheus re-read its configuration and rule
// files (after a test rewrote a rule file, say).
func (s *Stack) ReloadPrometheus() error {
	resp, err := client.Post(s.PrometheusURL()+"/-/reload", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("reload prometheus: %s\n%s", resp.Status, s.prometheus.tail())
	}
	return nil
}

// WaitQuery evaluates expr every 200ms until ok accepts the result or
// timeout passes, and returns the last result.
func (s *Stack) WaitQuery(expr string, timeout time.Duration, ok func(Vector) bool) (Vector, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := s.Query(expr)
		if err == nil && ok(v) {
			return v, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%s: condition not met within %s; last result %v", expr, timeout, v)
			}
			return v, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
