package stacktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExporterConfigFor(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(filepath.Join(root, DemoConfig))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ExporterConfigFor(shipped, "127.0.0.1:4242")
	if err != nil {
		t.Fatal(err)
	}
	gotLines, shippedLines := strings.Split(string(got), "\n"), strings.Split(string(shipped), "\n")
	if len(gotLines) != len(shippedLines) {
		t.Fatalf("line count changed: %d -> %d", len(shippedLines), len(gotLines))
	}
	changed := 0
	for i := range gotLines {
		if gotLines[i] != shippedLines[i] {
			changed++
			if strings.TrimSpace(gotLines[i]) != `addr: ["127.0.0.1:4242"]` {
				t.Errorf("line %d: %q", i+1, gotLines[i])
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d lines changed, want exactly the addr line", changed)
	}
	if _, err := ExporterConfigFor([]byte("models: []\n"), "x:1"); err == nil {
		t.Error("a configuration without addr: was accepted")
	}
}

// The whole stack comes up, every demo model is scraped, and ClickHouse can
// be taken away and brought back under the running exporter.
func TestStack(t *testing.T) {
	start := time.Now()
	s := Start(t, Options{})
	t.Logf("stack up in %s", time.Since(start).Round(100*time.Millisecond))

	v, err := s.Query(`mlmon_scrape_success == 1`)
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]bool{}
	for _, smp := range v {
		models[smp.Metric["model"]] = true
	}
	for _, m := range []string{"churn", "intent", "eta"} {
		if !models[m] {
			t.Errorf("model %s not scraped successfully: %v", m, v)
		}
	}
	if v, err := s.Query(`count(ALERTS) or vector(0)`); err != nil || len(v) != 1 {
		t.Errorf("scalar-ish query: %v %v", v, err)
	}
	if _, err := s.Query(`sum(`); err == nil {
		t.Error("a malformed query returned no error")
	}

	before, err := s.Query(`mlmon_predictions{model="eta", window="current"}`)
	if err != nil || len(before) != 1 {
		t.Fatalf("eta predictions: %v %v", before, err)
	}
	if err := s.RunDemodata("--reference.length=0s", "--history=10m", "--rate=2", "--seed=7"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitQuery(`mlmon_predictions{model="eta", window="current"}`, 20*time.Second, func(v Vector) bool {
		return len(v) == 1 && v[0].Value > before[0].Value
	}); err != nil {
		t.Errorf("extra demo data not seen: %v", err)
	}

	s.StopClickHouse()
	if _, err := s.WaitQuery(`mlmon_clickhouse_up == 0`, 20*time.Second, func(v Vector) bool { return len(v) == 1 }); err != nil {
		t.Errorf("outage not reported: %v", err)
	}
	if err := s.StartClickHouse(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitQuery(`mlmon_clickhouse_up == 1`, 30*time.Second, func(v Vector) bool { return len(v) == 1 }); err != nil {
		t.Errorf("recovery not reported: %v", err)
	}
}
