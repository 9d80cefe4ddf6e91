package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
)

const toolName = "mlmontool"

// command is one subcommand: its clause on the command line and what it does
// once its flags are parsed.
type command struct {
	clause *kingpin.CmdClause
	run    func(ctx context.Context, logger *slog.Logger) error
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code, so tests can
// call it.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New(toolName, "Tooling for mlmon: configuration checks, reports and history.")
	app.Version(version.Print(toolName))
	app.HelpFlag.Short('h')
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	logConfig := &promslog.Config{}
	promslogflag.AddFlags(app, logConfig)

	commands := []command{
		checkConfigCommand(app, stdout),
		reportCommand(app, stdout),
		backfillCommand(app, stderr),
		backtestRulesCommand(app, stdout),
	}

	selected, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", toolName, err)
		return 2
	}
	logConfig.Writer = stderr
	logger := promslog.New(logConfig)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.clause.FullCommand() != selected {
			continue
		}
		if err := c.run(ctx, logger); err != nil {
			fmt.Fprintf(stderr, "%s %s: %v\n", toolName, selected, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n", toolName, selected)
	return 2
}
