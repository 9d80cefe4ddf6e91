package collector

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// reloadStatus is the outcome of the last configuration reload, exposed as
// Prometheus exposes its own (prometheus_config_last_reload_successful and
// …_success_timestamp_seconds).
type reloadStatus struct {
	mu          sync.Mutex
	known       bool      // a reload (the first load included) has been attempted
	successful  bool      // the last attempt succeeded
	lastSuccess time.Time // of the last successful attempt
}

// Reloaded records the outcome of a configuration (re)load attempted at at:
// err nil means the new configuration is running.
func (h *Handler) Reloaded(err error, at time.Time) {
	h.reload.mu.Lock()
	defer h.reload.mu.Unlock()
	h.reload.known = true
	h.reload.successful = err == nil
	if err == nil {
		h.reload.lastSuccess = at
	}
}

// Describe sends nothing: the reload series are absent until a load was
// attempted.
func (r *reloadStatus) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (r *reloadStatus) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.known {
		return
	}
	ch <- prometheus.MustNewConstMetric(reloadSuccessfulDesc, prometheus.GaugeValue, boolFloat(r.successful))
	if !r.lastSuccess.IsZero() {
		ch <- prometheus.MustNewConstMetric(reloadSuccessTimestampDesc, prometheus.GaugeValue, float64(r.lastSuccess.UnixNano())/1e9)
	}
}
