package collector

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mlmon/mlmon/internal/report"
)

// lastScrape is the newest finished scrape: what the report pages show, so
// that a page view costs ClickHouse nothing while Prometheus scrapes.
type lastScrape struct {
	target   *Target
	finished time.Time
	// report is built on the first page view, not by every scrape: most
	// scrapes are Prometheus's and no page shows them.
	report func() report.Report
}

// remember keeps what the report of a finished scrape of t is built from.
func (h *Handler) remember(t *Target, s *Scrape, mfs []*dto.MetricFamily) {
	if mfs == nil {
		return
	}
	now, dists := s.now, s.Distributions()
	h.last.Store(&lastScrape{target: t, finished: time.Now(),
		report: sync.OnceValue(func() report.Report { return report.Build(t.Config, now, mfs, dists) })})
}

// Report returns the report of the newest scrape of the current target
// when it finished at most maxAge ago, and otherwise runs a scrape (or
// joins the one in flight) to make one.
func (h *Handler) Report(ctx context.Context, maxAge time.Duration) (report.Report, error) {
	t := h.target.Load()
	if t == nil {
		return report.Report{}, fmt.Errorf("no configuration loaded")
	}
	if l := h.last.Load(); l != nil && l.target == t && time.Since(l.finished) <= maxAge {
		return l.report(), nil
	}
	if _, err := h.gather(ctx, t); err != nil {
		if l := h.last.Load(); l == nil || l.target != t {
			return report.Report{}, err
		}
	}
	l := h.last.Load()
	if l == nil || l.target != t {
		return report.Report{}, fmt.Errorf("the scrape produced no report")
	}
	return l.report(), nil
}

// Pages serves /models (every model and its health) and /models/<name>
// (one model's drift report), from the newest scrape when it is at most
// maxAge old (the scrape interval): see Report.
func (h *Handler) Pages(maxAge time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "This endpoint requires a GET request.", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/models/" {
			http.Redirect(w, r, "/models", http.StatusMovedPermanently)
			return
		}
		name, one := strings.CutPrefix(r.URL.Path, "/models/")
		if !one && r.URL.Path != "/models" {
			http.NotFound(w, r)
			return
		}
		t := h.target.Load()
		if t == nil {
			http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
			return
		}
		if one && !t.hasModel(name) {
			http.Error(w, "no such model", http.StatusNotFound)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout(r, t))
		defer cancel()
		rep, err := h.Report(ctx, maxAge)
		if err != nil {
			h.logger.Error("report page", "err", err)
			http.Error(w, "scrape failed: see the exporter's log", http.StatusServiceUnavailable)
			return
		}
		var buf bytes.Buffer
		if one {
			err = report.ModelPage(&buf, rep, name, "../models")
		} else {
			err = report.IndexPage(&buf, rep, "models/")
		}
		if err != nil {
			h.logger.Error("report page", "err", err)
			http.Error(w, "cannot render the report", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(buf.Bytes())
	})
}

func (t *Target) hasModel(name string) bool {
	for i := range t.Config.Models {
		if t.Config.Models[i].Name == name {
			return true
		}
	}
	return false
}
