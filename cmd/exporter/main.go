package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	webflag "github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/mlmon/mlmon/collector"
	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

const exporterName = "mlmon_exporter"

func main() {
	os.Exit(run())
}

func run() int {
	var (
		configFile    = kingpin.Flag("config.file", "mlmon configuration file.").Default("mlmon.yml").String()
		configCheck   = kingpin.Flag("config.check", "Validate the configuration file, print what is wrong, and exit 0 (valid) or 1.").Bool()
		metricsPath   = kingpin.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		timeoutOffset = kingpin.Flag("scrape.timeout-offset", "Subtracted from Prometheus's scrape timeout to leave time for the response.").Default("500ms").Duration()
		reportMaxAge  = kingpin.Flag("web.report-max-age", "The /models pages show the last scrape when it is at most this old (the scrape interval), else they run one.").Default("1m").Duration()
		toolkitFlags  = webflag.AddFlags(kingpin.CommandLine, ":9786")
	)
	logConfig := &promslog.Config{}
	promslogflag.AddFlags(kingpin.CommandLine, logConfig)
	kingpin.Version(version.Print(exporterName))
	kingpin.HelpFlag.Short('h')
	kingpin.Parse()
	logger := promslog.New(logConfig)

	if *configCheck {
		if _, err := config.Load(*configFile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%s: configuration is valid\n", *configFile)
		return 0
	}

	logger.Info("starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())

	runtimeMetrics := prometheus.NewRegistry()
	runtimeMetrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler := collector.NewHandler(logger, *timeoutOffset, runtimeMetrics)
	r := &reloader{path: *configFile, handler: handler, logger: logger}
	if err := r.reload(); err != nil {
		logger.Error("cannot load configuration", "file", *configFile, "err", err)
		return 1
	}

	mux := http.NewServeMux()
	mux.Handle(*metricsPath, handler)
	mux.Handle("/models", handler.Pages(*reportMaxAge))
	mux.Handle("/models/", handler.Pages(*reportMaxAge))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy.")
	})
	// Ready means a configuration is loaded. It does not depend on
	// ClickHouse: an unready target is not scraped, and then nobody would
	// see mlmon_clickhouse_up 0.
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if handler.Target() == nil {
			http.Error(w, "Not ready.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready.")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost && req.Method != http.MethodPut {
			http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
			return
		}
		if err := r.reload(); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
		}
	})
	if *metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "mlmon exporter",
			Description: "Model monitoring metrics from ClickHouse",
			Version:     version.Info(),
			Links: []web.LandingLinks{
				{Address: *metricsPath, Text: "Metrics"},
				{Address: "/models", Text: "Models: drift report"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
		})
		if err != nil {
			logger.Error("landing page", "err", err)
			return 1
		}
		mux.Handle("/", landing)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			_ = r.reload() // logged by reload
		}
	}()

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	go func() {
		sig := <-term
		logger.Info("stopping", "signal", sig.String())
		// Scrapes in flight end with their connections; their queries,
		// and any background reference profile, are killed below.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
	}()
	err := web.ListenAndServe(srv, toolkitFlags, logger)
	r.close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("http server", "err", err)
		return 1
	}
	return 0
}

// reloader swaps the configuration and its ClickHouse client as one, and only
// when the new file is valid: a broken edit keeps the running configuration.
// Reloads are serialised: a SIGHUP and a POST /-/reload at the same moment
// run one after the other, so neither's configuration is lost to a race and
// no client is left open.
type reloader struct {
	path    string
	handler *collector.Handler
	logger  *slog.Logger
	mu      sync.Mutex
	retired []*collector.Target // replaced by reloads; closed after a delay
}

// close closes every client, the running one and those replaced by
// reloads: each kills the queries it still runs in ClickHouse.
func (r *reloader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range append(r.retired, r.handler.Target()) {
		if t == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Client.Close()
		}()
	}
	wg.Wait()
	r.logger.Info("ClickHouse clients closed")
}

// reload loads the file and records the outcome for
// mlmon_config_last_reload_successful.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.load()
	r.handler.Reloaded(err, time.Now())
	if err != nil {
		r.logger.Error("reload failed; keeping the running configuration", "file", r.path, "err", err)
	}
	return err
}

func (r *reloader) load() error {
	cfg, err := config.Load(r.path)
	if err != nil {
		return err
	}
	client, err := chquery.Open(cfg.ClickHouse, r.logger)
	if err != nil {
		return err
	}
	old := r.handler.SetTarget(collector.NewTarget(cfg, client))
	if old != nil {
		// Its reference computations and their retries stop now.
		old.References.Close()
		// Scrapes in flight still hold the old client; it is closed (and
		// whatever it still runs in ClickHouse killed) once they must have
		// finished.
		r.retired = append(r.retired, old)
		time.AfterFunc(old.Config.ClickHouse.QueryTimeout+5*time.Second, func() {
			old.Client.Close()
			r.mu.Lock()
			defer r.mu.Unlock()
			r.retired = slices.DeleteFunc(r.retired, func(t *collector.Target) bool { return t == old })
		})
	}
	r.logger.Info("configuration loaded", "file", r.path, "models", len(cfg.Models))
	return nil
}
