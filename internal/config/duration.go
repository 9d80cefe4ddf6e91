package config

import (
	"time"

	"github.com/prometheus/common/model"
)

// parseDuration parses a duration in Prometheus syntax ("90s", "1h30m",
// "1d", "2w"; units y, w, d, h, m, s, ms, each at most once and from the
// largest to the smallest; a bare "0" is allowed; no sign, no fractions), so
// that operators write the durations they already write in Prometheus.
func parseDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}
