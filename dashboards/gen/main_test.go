package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlmon/mlmon/dashboards"
)

// Regenerating rewrites a file only when its content changed: unchanged
// files keep their modification time, a stale one is brought up to date and
// an orphan board is removed.
func TestGenerateWritesOnlyOnChange(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	files, err := dashboards.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want several generated files, got %d", len(files))
	}
	past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	var stale string
	for name := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
		stale = p
	}
	if err := os.WriteFile(stale, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, dashboards.JSONDir, "removed-board.json")
	if err := os.WriteFile(orphan, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: content differs from dashboards.Files()", name)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if changed := !fi.ModTime().Equal(past); changed != (p == stale) {
			t.Errorf("%s: rewritten = %v, want %v", name, changed, p == stale)
		}
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan board %s not removed: %v", orphan, err)
	}
}
