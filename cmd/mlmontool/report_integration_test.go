package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/report"
)

const reportSchema = `CREATE TABLE report_preds (ts DateTime, request_id String, prediction Float64, size Float64, colour String)
  ENGINE = MergeTree ORDER BY ts`

const reportConfig = `
clickhouse: {addr: [%q]}
defaults: {window: 1h, bins: 4, max_categories: 3, min_samples: 20}
models:
  - name: price
    task: regression
    predictions: {table: report_preds, timestamp: ts, id: request_id, prediction: prediction}
    features:
      - {name: size, type: numeric}
      - {name: colour, type: categorical}
    reference: {from: 2026-03-01T00:00:00Z, to: 2026-03-01T06:00:00Z}
`

// mlmontool report on a real ClickHouse: --at moves the windows (the row
// counts of two seeded hours), the JSON output follows the published schema,
// and every format names every feature.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	srv, err := chtest.Start(filepath.Join(dir, "clickhouse"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx := context.Background()
	if err := srv.Exec(ctx, reportSchema); err != nil {
		t.Fatal(err)
	}
	refFrom := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	hourA, hourB := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(21, 7))
	b, err := srv.Conn().PrepareBatch(ctx, "INSERT INTO report_preds (ts, request_id, prediction, size, colour)")
	if err != nil {
		t.Fatal(err)
	}
	add := func(n int, from time.Time, span time.Duration, shift float64) {
		for i := range n {
			colours := []string{"red", "green", "blue", "white", "black"}
			if err := b.Append(from.Add(time.Duration(rng.Int64N(int64(span)))), fmt.Sprintf("%s-%d", from, i),
				100+10*rng.NormFloat64(), 5+rng.NormFloat64()+shift, colours[rng.IntN(len(colours))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(400, refFrom, 6*time.Hour, 0)
	add(137, hourA.Add(-time.Hour), time.Hour, 0)
	add(251, hourB.Add(-time.Hour), time.Hour, 2)
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "mlmon.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(reportConfig, srv.Addr())), 0o600); err != nil {
		t.Fatal(err)
	}
	schema := compileSchema(t)

	report := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		if !strings.HasPrefix(strings.Join(args, " "), "--model=") {
			args = append([]string{"--model=price"}, args...)
		}
		code := run(append([]string{"report", "--config.file=" + cfg}, args...), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	for _, tc := range []struct {
		at   time.Time
		rows float64
	}{{hourA, 137}, {hourB, 251}} {
		out, errOut, code := report("--format=json", "--at="+tc.at.Format(time.RFC3339))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("--at=%s: the JSON does not follow internal/report/report.schema.json: %v\n%s", tc.at, err, out)
		}
		var r reportJSON
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Models) != 1 || r.Models[0].Predictions.Current == nil || *r.Models[0].Predictions.Current != tc.rows {
			t.Fatalf("--at=%s: want the %g rows of the hour before, got %s", tc.at, tc.rows, out)
		}
		m := r.Models[0]
		if !r.At.Equal(tc.at) || len(m.Features) != 2 || m.Output == nil || m.Output.Distribution == nil {
			t.Errorf("--at=%s: at %s, %d features, output %v", tc.at, r.At, len(m.Features), m.Output)
		}
		if tc.at == hourB && (m.Features[0].Name != "size" || m.Features[0].PSI == nil || *m.Features[0].PSI < 0.5) {
			t.Errorf("size was shifted by two standard deviations at %s: want it ranked first with a large PSI: %+v", tc.at, m.Features[0])
		}
	}
	for _, format := range []string{"markdown", "html"} {
		out, errOut, code := report("--format="+format, "--at="+hourB.Format(time.RFC3339))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		for _, want := range []string{"price", "size", "colour", "__prediction__", "03: [", "__other__"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %q in\n%s", format, want, out)
			}
		}
	}

	// Bad input: a clear error and exit 1 (2 for a flag kingpin rejects).
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--at=yesterday"}, 1, "--at"},
		{[]string{"--model=nope"}, 1, `no model "nope"`},
		{[]string{"--format=pdf"}, 2, "markdown,json,html"},
	} {
		_, errOut, code := report(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q should mention %q", tc.args, code, tc.code, errOut, tc.msg)
		}
	}
}

// reportJSON is the part of the JSON output the test reads.
type reportJSON struct {
	At     time.Time      `json:"at"`
	Models []report.Model `json:"models"`
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "internal", "report", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
