package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join("..", "..", "internal", "config", "testdata", "minimal.yml")
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("clickhouse:\n  addr: [\"127.0.0.1:9000\"]\n  qurey_timeout: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if code := run([]string{"check-config", good}, &out, &errOut); code != 0 {
		t.Fatalf("valid file: exit %d, stderr %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "valid, 1 models") {
		t.Errorf("valid file: stdout %q", out.String())
	}

	out.Reset()
	errOut.Reset()
	if code := run([]string{"check-config", bad}, &out, &errOut); code != 1 {
		t.Fatalf("invalid file: exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), "qurey_timeout") || !strings.Contains(errOut.String(), "line 3") {
		t.Errorf("invalid file: the error should name the key and its line, got %q", errOut.String())
	}

	if code := run([]string{"no-such-command"}, &out, &errOut); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}
