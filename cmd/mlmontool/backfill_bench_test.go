package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/stacktest"
)

// BenchmarkBackfill30Days backfills 30 days at 1 h steps (720 steps) of the
// demo's three models (deploy/local/mlmon.yml) from a real ClickHouse 18.16,
// once scanning the predictions and once with the demo's pre-aggregation
// (deploy/clickhouse/preaggregate.sql, 1-minute intervals). The history is
// written by cmd/demodata at MLMON_BENCH_RATE predictions per second per
// model (default 0.1, i.e. 260k rows per model over 30 days) with a weekly
// drift wave. Run it alone, it takes minutes:
//
//	go test -run '^$' -bench BenchmarkBackfill30Days -benchtime=1x -timeout 60m ./cmd/mlmontool/
func BenchmarkBackfill30Days(b *testing.B) {
	rate := os.Getenv("MLMON_BENCH_RATE")
	if rate == "" {
		rate = "0.1"
	}
	root, err := stacktest.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	ctx := context.Background()
	srv, err := chtest.Start(filepath.Join(dir, "clickhouse"))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	for _, f := range []string{stacktest.SchemaFile, "deploy/clickhouse/preaggregate.sql"} {
		stmts, err := chtest.Statements(filepath.Join(root, f))
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Exec(ctx, stmts...); err != nil {
			b.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/demodata")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/demodata: %v\n%s", err, out)
	}
	seedStart := time.Now()
	seed := exec.Command(filepath.Join(dir, "demodata"), "--clickhouse.addr="+srv.Addr(), "--rate="+rate,
		"--history=721h", "--drift=0.6", "--drift.period=168h")
	if out, err := seed.CombinedOutput(); err != nil {
		b.Fatalf("demodata: %v\n%s", err, out)
	}
	b.Logf("seeded 30 days + the reference day at %s predictions/s/model in %s", rate, time.Since(seedStart).Round(time.Second))

	shipped, err := os.ReadFile(filepath.Join(root, stacktest.DemoConfig))
	if err != nil {
		b.Fatal(err)
	}
	scan, err := stacktest.ExporterConfigFor(shipped, srv.Addr())
	if err != nil {
		b.Fatal(err)
	}
	// The same models, each with its drift window merged from the
	// pre-aggregation table.
	pre := regexp.MustCompile(`(?m)^  - name: (\w+)$`).ReplaceAll(scan,
		[]byte("  - name: $1\n    preaggregated: {table: mlmon_feature_aggregates, interval: 1m}"))

	to := time.Now().UTC().Truncate(time.Hour)
	from := to.Add(-719 * time.Hour)
	for _, v := range []struct {
		name string
		cfg  []byte
	}{{"scan", scan}, {"preaggregated", pre}} {
		cfgFile := filepath.Join(dir, v.name+".yml")
		if err := os.WriteFile(cfgFile, v.cfg, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(v.name, func(b *testing.B) {
			for range b.N {
				f := &backfillFlags{configFile: cfgFile, from: from.Format(time.RFC3339), to: to.Format(time.RFC3339),
					step: "1h", output: filepath.Join(dir, v.name+".om")}
				bf, err := newBackfill(f, io.Discard, slog.New(slog.DiscardHandler))
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := bf.run(ctx); err != nil {
					// Model-steps that failed (a query over
					// query_timeout on a busy machine) are left out
					// and counted, not fatal to the figures.
					b.Logf("%s: %v", v.name, err)
				}
				elapsed := time.Since(start)
				steps := float64(len(bf.steps))
				modelSteps := steps * float64(len(bf.cfg.Models))
				b.ReportMetric(steps/elapsed.Seconds(), "steps/s")
				b.ReportMetric(float64(bf.cost.queries)/steps, "queries/step")
				b.ReportMetric(float64(bf.cost.rows)/steps, "rows/step")
				b.ReportMetric(float64(bf.cost.rowsByQuery["drift"])/modelSteps, "drift-rows/model-step")
				info, err := os.Stat(f.output)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("%s: %d steps in %s; %d queries, %d rows read (drift %d, reference %d); output %s bytes",
					v.name, len(bf.steps), elapsed.Round(time.Millisecond), bf.cost.queries, bf.cost.rows,
					bf.cost.rowsByQuery["drift"], bf.cost.rowsByQuery["reference"], strconv.FormatInt(info.Size(), 10))
			}
		})
	}
}
