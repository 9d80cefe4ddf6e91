package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlmon/mlmon/rules"
)

func main() {
	out := flag.String("out", ".", "directory to write "+rules.RuleFileName+" and "+rules.PrometheusRuleName+" to")
	job := flag.String("job-selector", rules.DefaultOptions().JobSelector,
		"label matcher, without braces, that selects the mlmon scrape targets in up{}")
	flag.Parse()
	if err := run(*out, rules.Options{JobSelector: *job}); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string, opts rules.Options) error {
	files, err := rules.Files(opts)
	if err != nil {
		return err
	}
	for _, f := range files {
		// Write only on change, so that regenerating leaves file times
		// (and editors' buffers) alone when nothing moved.
		path := filepath.Join(dir, f.Name)
		if old, err := os.ReadFile(path); err == nil && string(old) == string(f.Data) {
			continue
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return nil
}
