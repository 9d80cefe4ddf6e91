package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmon/mlmon/collector"
	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
	"github.com/mlmon/mlmon/internal/report"
)

// reportCommand prints one model's report — performance, confusion matrix,
// features ranked by drift with their distributions — as the exporter's
// /models/<name> page shows it, for a ticket or a postmortem. It runs one
// scrape of that model, as of --at when given.
func reportCommand(app *kingpin.Application, stdout io.Writer) command {
	clause := app.Command("report", "Print a model's drift and performance report (the exporter's /models/<name> page).")
	file := clause.Flag("config.file", "mlmon configuration file.").Default("mlmon.yml").String()
	model := clause.Flag("model", "Model to report on (its name in the configuration).").Required().String()
	format := clause.Flag("format", "Output format: markdown, json or html.").Default("markdown").Enum(report.Formats...)
	at := clause.Flag("at", "Evaluate the windows as of this time (RFC3339) instead of now.").String()
	return command{clause: clause, run: func(ctx context.Context, logger *slog.Logger) error {
		now := time.Now()
		if *at != "" {
			t, err := time.Parse(time.RFC3339, *at)
			if err != nil {
				return fmt.Errorf("--at: %w", err)
			}
			now = t
		}
		cfg, err := config.Load(*file)
		if err != nil {
			return err
		}
		rep, err := runReport(ctx, cfg, *model, now, logger)
		if err != nil {
			return err
		}
		return report.Render(stdout, rep, *model, *format)
	}}
}

// runReport scrapes the one model as of now and builds its report. The
// scrape may take query_timeout: it computes the reference too, which the
// exporter caches across scrapes.
func runReport(ctx context.Context, cfg *config.Config, name string, now time.Time, logger *slog.Logger) (report.Report, error) {
	one := *cfg
	one.Models = nil
	for _, m := range cfg.Models {
		if m.Name == name {
			one.Models = append(one.Models, m)
		}
	}
	if len(one.Models) == 0 {
		return report.Report{}, fmt.Errorf("no model %q in the configuration", name)
	}
	client, err := chquery.Open(one.ClickHouse, logger)
	if err != nil {
		return report.Report{}, err
	}
	defer client.Close()
	target := collector.NewTarget(&one, client)
	defer target.References.Close()

	ctx, cancel := context.WithTimeout(ctx, one.ClickHouse.QueryTimeout)
	defer cancel()
	if err := client.Ping(ctx); err != nil {
		return report.Report{}, fmt.Errorf("ClickHouse unreachable: %w", err)
	}
	scrape := collector.NewScrape(ctx, target, collector.NewCounters(), logger, now)
	reg := prometheus.NewRegistry()
	reg.MustRegister(scrape)
	mfs, err := reg.Gather()
	if err != nil {
		return report.Report{}, err
	}
	rep := report.Build(&one, now.Truncate(time.Second), mfs, scrape.Distributions())
	if m := rep.Model(name); m != nil && !m.ScrapeSuccess {
		logger.Warn("some queries failed: the report lacks their metrics", "model", name)
	}
	return rep, nil
}
