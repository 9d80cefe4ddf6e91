package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"gopkg.in/yaml.v3"

	"github.com/mlmon/mlmon/internal/promqlnames"
)

// BacktestAlertMetric is the series an alerting rule becomes in a backtest:
// its condition, labelled alertname, the alert's labels and for.
const BacktestAlertMetric = "backtest:alert_condition"

// backtestRuleFile is the part of a Prometheus rule file a backtest reads and
// writes (promtool check rules validates the rest).
type backtestRuleFile struct {
	Groups []backtestGroup `yaml:"groups"`
}

type backtestGroup struct {
	Name     string         `yaml:"name"`
	Interval string         `yaml:"interval,omitempty"`
	Rules    []backtestRule `yaml:"rules"`
}

type backtestRule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

func readBacktestRuleFile(path string) (*backtestRuleFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f backtestRuleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// backtestRulesCommand turns rule files into the passes of
// `promtool tsdb create-blocks-from rules`, which evaluates recording rules
// only, and only against data already in Prometheus: a recording rule that
// reads another must be backfilled in a later pass, and an alert's
// condition is backfilled as a recording rule of its own.
func backtestRulesCommand(app *kingpin.Application, stdout io.Writer) command {
	clause := app.Command("backtest-rules", "Split rule files into the passes of `promtool tsdb create-blocks-from rules`: recording rules by dependency depth, each alert's condition as a recording rule in the last pass.")
	outDir := clause.Flag("output-dir", "Directory for pass-1.yml, pass-2.yml, ….").Required().String()
	files := clause.Arg("rule-files", "Prometheus rule files.").Required().ExistingFiles()
	return command{clause: clause, run: func(context.Context, *slog.Logger) error {
		passes, err := backtestPasses(*files)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			return err
		}
		for i, p := range passes {
			b, err := yaml.Marshal(p)
			if err != nil {
				return err
			}
			path := filepath.Join(*outDir, fmt.Sprintf("pass-%d.yml", i+1))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				return err
			}
			n := 0
			for _, g := range p.Groups {
				n += len(g.Rules)
			}
			fmt.Fprintf(stdout, "%s: %d rules\n", path, n)
		}
		return nil
	}}
}

// backtestPasses reads rule files and orders their rules into passes: a
// recording rule goes one pass after the latest recording rule it reads;
// every alert's condition goes into one pass after everything it reads,
// and at least into the last pass.
func backtestPasses(files []string) ([]backtestRuleFile, error) {
	type parsed struct {
		group string
		r     backtestRule
		reads []string
	}
	var rules []parsed
	recorded := map[string]bool{}
	for _, f := range files {
		rgs, err := readBacktestRuleFile(f)
		if err != nil {
			return nil, err
		}
		for _, g := range rgs.Groups {
			for _, r := range g.Rules {
				reads, err := promqlnames.MetricNames(r.Expr)
				if err != nil {
					return nil, fmt.Errorf("%s: group %s: %w", f, g.Name, err)
				}
				rules = append(rules, parsed{group: g.Name, r: r, reads: reads})
				if r.Record != "" {
					recorded[r.Record] = true
				}
			}
		}
	}
	// Depth of each recording rule's output: 1 + the deepest recorded
	// series it reads. Recording rules form no cycles in a valid setup; a
	// cycle is reported rather than looped on.
	depth := map[string]int{}
	var visit func(name string, path []string) (int, error)
	byRecord := map[string][]parsed{}
	for _, r := range rules {
		if r.r.Record != "" {
			byRecord[r.r.Record] = append(byRecord[r.r.Record], r)
		}
	}
	visit = func(name string, path []string) (int, error) {
		if d, ok := depth[name]; ok {
			return d, nil
		}
		if slices.Contains(path, name) {
			return 0, fmt.Errorf("recording rules read each other in a cycle: %s", strings.Join(append(path, name), " -> "))
		}
		d := 1
		for _, r := range byRecord[name] {
			for _, read := range r.reads {
				if !recorded[read] {
					continue
				}
				rd, err := visit(read, append(path, name))
				if err != nil {
					return 0, err
				}
				d = max(d, rd+1)
			}
		}
		depth[name] = d
		return d, nil
	}
	last := 1
	for name := range byRecord {
		d, err := visit(name, nil)
		if err != nil {
			return nil, err
		}
		last = max(last, d)
	}
	passOf := func(r parsed) int {
		if r.r.Record != "" {
			return depth[r.r.Record]
		}
		p := 1
		for _, read := range r.reads {
			if recorded[read] {
				p = max(p, depth[read]+1)
			}
		}
		return p
	}
	for _, r := range rules {
		if r.r.Alert != "" {
			last = max(last, passOf(r))
		}
	}
	passes := make([]backtestRuleFile, last)
	for _, r := range rules {
		p := passOf(r)
		out := r.r
		if r.r.Alert != "" {
			p = last
			labels := map[string]string{}
			for k, v := range r.r.Labels {
				labels[k] = v
			}
			labels["alertname"] = r.r.Alert
			labels["for"] = r.r.For
			if labels["for"] == "" {
				labels["for"] = "0s"
			}
			out = backtestRule{Record: BacktestAlertMetric, Expr: r.r.Expr, Labels: labels}
		}
		groups := &passes[p-1].Groups
		i := slices.IndexFunc(*groups, func(g backtestGroup) bool { return g.Name == r.group })
		if i < 0 {
			*groups = append(*groups, backtestGroup{Name: r.group})
			i = len(*groups) - 1
		}
		(*groups)[i].Rules = append((*groups)[i].Rules, out)
	}
	return passes, nil
}
