// Package stats holds the pure mathematics behind mlmon's model-monitoring
// metrics. Every function works on the small aggregates that ClickHouse
// returns (confusion-matrix counts, score histograms, error sums, per-bin
// counts, quantiles); the package does no SQL, no I/O and knows nothing about
// Prometheus.
//
// # Undefined values
//
// A statistic that is mathematically undefined for its input is returned as
// math.NaN(): for example a precision when nothing was predicted as the
// class, a ROC AUC when only one class is present, an R² when the labels are
// constant, or any drift statistic when one window has no observations.
// Callers must omit NaN values instead of exporting a fake 0. No function in
// this package ever returns ±Inf: a result that would overflow is reported as
// NaN as well.
//
// # Robustness
//
// Zero counts, empty maps and empty or nil slices never cause a panic; they
// yield NaN (or an empty result) as documented on each function. Functions
// that take two slices which must line up (the per-bin drift functions,
// Wasserstein) return NaN when the lengths differ; no function in this
// package returns an error. Counts are expected to be finite and
// non-negative; the drift functions return NaN when they are not.
package stats
