package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/alecthomas/kingpin/v2"

	"github.com/mlmon/mlmon/internal/config"
)

// checkConfigCommand validates a configuration file like the exporter's
// --config.check, for CI pipelines that have the tool but not the exporter.
func checkConfigCommand(app *kingpin.Application, stdout io.Writer) command {
	clause := app.Command("check-config", "Validate an mlmon configuration file.")
	file := clause.Arg("file", "Configuration file.").Required().String()
	return command{clause: clause, run: func(context.Context, *slog.Logger) error {
		cfg, err := config.Load(*file)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: valid, %d models\n", *file, len(cfg.Models))
		return nil
	}}
}
