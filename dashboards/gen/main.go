package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlmon/mlmon/dashboards"
)

func main() {
	out := flag.String("out", ".", "the dashboards directory to write into")
	flag.Parse()
	if err := generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards/gen:", err)
		os.Exit(1)
	}
}

func generate(dir string) error {
	files, err := dashboards.Files()
	if err != nil {
		return err
	}
	// A board renamed or removed must not leave its old JSON behind for
	// file provisioning to keep loading.
	old, err := filepath.Glob(filepath.Join(dir, dashboards.JSONDir, "*.json"))
	if err != nil {
		return err
	}
	for _, f := range old {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			return err
		}
		if _, ok := files[filepath.ToSlash(rel)]; !ok {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for name, b := range files {
		// Write only on change, so that regenerating leaves file times
		// (and editors' buffers) alone when nothing moved.
		p := filepath.Join(dir, filepath.FromSlash(name))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
