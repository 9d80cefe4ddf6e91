package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/mlmon/mlmon/internal/chquery"
)

// Handler serves /metrics. Each request gets its own registry and Scrape, so
// the scrape's deadline follows the requesting Prometheus's timeout.
type Handler struct {
	logger        *slog.Logger
	timeoutOffset time.Duration
	extra         prometheus.Gatherer
	target        atomic.Pointer[Target]
	counters      *Counters
	reload        reloadStatus
	scrapes       atomic.Uint64 // scrapes started, also their number in query_ids

	mu       sync.Mutex
	inflight *flight
	last     atomic.Pointer[lastScrape] // for the report pages (pages.go)
}

// flight is a scrape in progress that concurrent requests join: two
// Prometheus replicas scraping at once cost ClickHouse one scrape.
type flight struct {
	target *Target
	done   chan struct{}
	mfs    []*dto.MetricFamily
	err    error
}

// NewHandler returns a handler with no target yet; it answers 503 until
// SetTarget is called. extra (may be nil) is gathered alongside, e.g. the
// process and Go runtime collectors.
func NewHandler(logger *slog.Logger, timeoutOffset time.Duration, extra prometheus.Gatherer) *Handler {
	return &Handler{logger: logger, timeoutOffset: timeoutOffset, extra: extra, counters: NewCounters()}
}

// SetTarget makes t the target of the next scrapes and returns the previous
// one, which in-flight scrapes may still be using.
func (h *Handler) SetTarget(t *Target) *Target {
	t.Client.Observe(h.counters.Observe)
	return h.target.Swap(t)
}

// Target returns the current target, nil before the first SetTarget.
func (h *Handler) Target() *Target { return h.target.Load() }

// timeout is the scrape's budget: Prometheus's scrape timeout minus an
// offset for the exposition and the network, or query_timeout when the
// request does not say.
func (h *Handler) timeout(r *http.Request, t *Target) time.Duration {
	limit := t.Config.ClickHouse.QueryTimeout
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 {
			limit = min(limit, time.Duration(secs*float64(time.Second))-h.timeoutOffset)
		} else {
			h.logger.Warn("ignoring invalid X-Prometheus-Scrape-Timeout-Seconds", "value", v)
		}
	}
	return max(limit, 100*time.Millisecond)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := h.target.Load()
	if t == nil {
		http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout(r, t))
	defer cancel()
	gatherers := prometheus.Gatherers{prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return h.gather(ctx, t)
	})}
	if h.extra != nil {
		gatherers = append(gatherers, h.extra)
	}
	promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(h.logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(w, r)
}

// gather runs a scrape of t, or joins the one already running for t.
func (h *Handler) gather(ctx context.Context, t *Target) ([]*dto.MetricFamily, error) {
	h.mu.Lock()
	if f := h.inflight; f != nil && f.target == t {
		h.mu.Unlock()
		select {
		case <-f.done:
			return f.mfs, f.err
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a concurrent scrape: %w", ctx.Err())
		}
	}
	f := &flight{target: t, done: make(chan struct{})}
	h.inflight = f
	h.mu.Unlock()

	ctx = chquery.WithScrape(ctx, h.scrapes.Add(1))
	reg := prometheus.NewRegistry()
	s := NewScrape(ctx, t, h.counters, h.logger, time.Now())
	reg.MustRegister(s, &h.reload)
	f.mfs, f.err = reg.Gather()
	h.remember(t, s, f.mfs)

	h.mu.Lock()
	h.inflight = nil
	h.mu.Unlock()
	close(f.done)
	return f.mfs, f.err
}
