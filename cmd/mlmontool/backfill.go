package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mlmon/mlmon/collector"
	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

// maxSteps bounds one run: a year at one-minute steps. Beyond it a typo in
// --step or --from is far likelier than intent.
const maxSteps = 366 * 24 * 60

// backfillFlags are the flags of mlmontool backfill.
type backfillFlags struct {
	configFile string
	from, to   string
	step       string
	models     []string
	output     string
	labels     []string
}

// backfillCommand computes the model metrics of past times, as scrapes at
// each step's time, and writes them as OpenMetrics with timestamps for
// promtool tsdb create-blocks-from openmetrics.
func backfillCommand(app *kingpin.Application, stderr io.Writer) command {
	clause := app.Command("backfill", "Compute the model metrics of past times, one scrape per step, as OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.")
	f := &backfillFlags{}
	clause.Flag("config.file", "mlmon configuration file.").Default("mlmon.yml").StringVar(&f.configFile)
	clause.Flag("from", "Time of the first step (RFC 3339).").Required().StringVar(&f.from)
	clause.Flag("to", "Time of the last step (RFC 3339): the last step is the latest from + k*step not after it.").Required().StringVar(&f.to)
	clause.Flag("step", "Time between steps (Prometheus duration).").Default("1h").StringVar(&f.step)
	clause.Flag("model", "Only this model (repeatable; default: every configured model).").StringsVar(&f.models)
	clause.Flag("output", "OpenMetrics file to write (written whole at the end, or up to the last complete step when interrupted).").Required().StringVar(&f.output)
	clause.Flag("label", "Extra label on every series, name=value (repeatable), e.g. --label=job=mlmon --label=instance=host:9786 to continue the series a live Prometheus scrapes.").StringsVar(&f.labels)
	return command{clause: clause, run: func(ctx context.Context, logger *slog.Logger) error {
		b, err := newBackfill(f, stderr, logger)
		if err != nil {
			return err
		}
		return b.run(ctx)
	}}
}

// backfill is one run of mlmontool backfill.
type backfill struct {
	cfg      *config.Config
	steps    []time.Time
	step     time.Duration
	output   string
	labels   []*dto.LabelPair // --label, sorted by name
	keep     map[string]bool  // the families written (collector.HistoryMetricNames)
	stderr   io.Writer
	logger   *slog.Logger
	progress time.Duration // between progress lines
	cost     backfillCost  // what the run cost ClickHouse

	afterStep func(done int) // tests: called after each step merged
}

func newBackfill(f *backfillFlags, stderr io.Writer, logger *slog.Logger) (*backfill, error) {
	from, err := time.Parse(time.RFC3339, f.from)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	to, err := time.Parse(time.RFC3339, f.to)
	if err != nil {
		return nil, fmt.Errorf("--to: %w", err)
	}
	step, err := model.ParseDuration(f.step)
	if err != nil {
		return nil, fmt.Errorf("--step: %w", err)
	}
	if time.Duration(step) < time.Second {
		return nil, fmt.Errorf("--step=%s: must be at least 1s", f.step)
	}
	if to.Before(from) {
		return nil, fmt.Errorf("--to=%s is before --from=%s", f.to, f.from)
	}
	if now := time.Now(); to.After(now) {
		return nil, fmt.Errorf("--to=%s is in the future (now is %s): a backfill covers the past, the exporter the present", f.to, now.UTC().Format(time.RFC3339))
	}
	if n := to.Sub(from)/time.Duration(step) + 1; n > maxSteps {
		return nil, fmt.Errorf("%d steps of %s from %s to %s: more than %d in one run; split the range", n, f.step, f.from, f.to, maxSteps)
	}
	if f.output == "" {
		return nil, errors.New("--output: empty file name")
	}
	labels, err := parseLabels(f.labels)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(f.configFile)
	if err != nil {
		return nil, err
	}
	if cfg.Models, err = selectModels(cfg.Models, f.models); err != nil {
		return nil, err
	}
	b := &backfill{cfg: cfg, step: time.Duration(step), output: f.output, labels: labels,
		keep: map[string]bool{}, stderr: stderr, logger: logger, progress: 5 * time.Second}
	for t := from; !t.After(to); t = t.Add(time.Duration(step)) {
		b.steps = append(b.steps, t)
	}
	for _, name := range collector.HistoryMetricNames() {
		b.keep[name] = true
	}
	return b, nil
}

// parseLabels reads --label name=value flags.
func parseLabels(flags []string) ([]*dto.LabelPair, error) {
	var out []*dto.LabelPair
	seen := map[string]bool{}
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok || !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, "__") {
			return nil, fmt.Errorf("--label=%q: want name=value with a valid label name", f)
		}
		if seen[name] {
			return nil, fmt.Errorf("--label: %s given twice", name)
		}
		seen[name] = true
		out = append(out, &dto.LabelPair{Name: &name, Value: &value})
	}
	slices.SortFunc(out, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

// selectModels keeps the models named by --model, in the configuration's
// order; none named keeps all.
func selectModels(models []config.Model, names []string) ([]config.Model, error) {
	if len(names) == 0 {
		return models, nil
	}
	var out []config.Model
	var configured []string
	for _, m := range models {
		configured = append(configured, m.Name)
		if slices.Contains(names, m.Name) {
			out = append(out, m)
		}
	}
	for _, n := range names {
		if !slices.Contains(configured, n) {
			return nil, fmt.Errorf("--model=%s: no such model in the configuration (models: %s)", n, strings.Join(configured, ", "))
		}
	}
	return out, nil
}

// stepResult is one step's scrape: the families to write, the models that
// failed (their series left out) and whether the step is complete.
type stepResult struct {
	families []*dto.MetricFamily
	failed   []string
	complete bool
}

func (b *backfill) run(ctx context.Context) error {
	client, err := chquery.Open(b.cfg.ClickHouse, b.logger)
	if err != nil {
		return err
	}
	defer client.Close()
	client.Observe(b.cost.observe)
	target := collector.NewHistoryTarget(b.cfg, client)
	defer target.References.Close()
	counters := collector.NewCounters()

	// Steps are handed out in order to workers; results are merged in step
	// order, so the store always holds a gap-free prefix of the steps and
	// each series' samples in increasing time.
	workers := b.parallelSteps()
	jobs := make(chan int)
	results := make([]chan stepResult, len(b.steps))
	for i := range results {
		results[i] = make(chan stepResult, 1)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := b.scrape(ctx, target, counters, b.steps[i])
				if r.complete && len(r.failed) > 0 {
					// Once more before reporting: a query that ran out of
					// query_timeout on a busy server often passes the
					// second time. The second result replaces the first.
					b.logger.Warn("retrying a step whose models failed", "time", b.steps[i], "models", r.failed)
					r = b.scrape(ctx, target, counters, b.steps[i])
				}
				results[i] <- r
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range b.steps {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	st := newHistoryStore(b.labels)
	start := time.Now()
	lastLine := start
	done := 0
	var failures []string
	for i := range b.steps {
		var r stepResult
		select {
		case r = <-results[i]:
		case <-ctx.Done():
		}
		if !r.complete {
			break
		}
		for _, m := range r.failed {
			line := fmt.Sprintf("step %s: model %s failed (the log above says why); its series are left out of this step", b.steps[i].UTC().Format(time.RFC3339), m)
			failures = append(failures, line)
			fmt.Fprintf(b.stderr, "backfill: %s\n", line)
		}
		st.add(r.families, b.steps[i].UnixMilli())
		done++
		if b.afterStep != nil {
			b.afterStep(done)
		}
		if now := time.Now(); now.Sub(lastLine) >= b.progress || done == len(b.steps) {
			b.printProgress(done, now.Sub(start))
			lastLine = now
		}
	}
	wg.Wait()

	if done > 0 {
		if err := st.write(b.output); err != nil {
			return err
		}
	}
	fmt.Fprintf(b.stderr, "backfill: %d of %d steps, %d series, %d samples written to %s in %s; ClickHouse: %d queries, %d rows read\n",
		done, len(b.steps), st.series(), st.samples, b.output, time.Since(start).Round(time.Millisecond), b.cost.queries, b.cost.rows)
	if done < len(b.steps) {
		next := b.steps[done].UTC().Format(time.RFC3339)
		if done == 0 {
			return fmt.Errorf("interrupted before the first step completed: nothing written; %w", ctx.Err())
		}
		return fmt.Errorf("interrupted: %s holds the steps %s to %s; resume with --from=%s and another --output (%w)",
			b.output, b.steps[0].UTC().Format(time.RFC3339), b.steps[done-1].UTC().Format(time.RFC3339), next, ctx.Err())
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d model-steps failed (listed above) and are absent from %s: backfill each again with --model, --from and --to set to it, into another --output", len(failures), b.output)
	}
	return nil
}

// parallelSteps is how many steps run at once: as many as keep the
// queries in flight within max_parallel_queries, given that a step queries
// its models in parallel. More would only queue for the client's slots, and
// a query's wait for a slot counts against its query_timeout: under load,
// queued queries time out and their models fail the step.
func (b *backfill) parallelSteps() int {
	return max(1, min(b.cfg.ClickHouse.MaxParallelQueries/max(1, len(b.cfg.Models)), len(b.steps)))
}

func (b *backfill) printProgress(done int, elapsed time.Duration) {
	rate := float64(done) / elapsed.Seconds()
	eta := "-"
	if rate > 0 {
		eta = time.Duration(float64(len(b.steps)-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(b.stderr, "backfill: %d/%d steps (%.0f%%), %.2f steps/s, ETA %s\n",
		done, len(b.steps), 100*float64(done)/float64(len(b.steps)), rate, eta)
}

// scrape runs one scrape with its clock at t on a fresh registry and keeps
// the families of a history.
func (b *backfill) scrape(ctx context.Context, target *collector.Target, counters *collector.Counters, t time.Time) stepResult {
	if ctx.Err() != nil {
		return stepResult{}
	}
	// A step is not a scrape of a live exporter: the guard that skips a
	// model whose earlier scrape still runs queries would skip every step
	// that overlaps another. Marked as background work, the step's queries
	// are not counted by that guard; the max_parallel_queries slots still
	// bound them.
	sctx := chquery.Background(ctx)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.NewScrape(sctx, target, counters, b.logger, t))
	mfs, err := reg.Gather()
	if ctx.Err() != nil {
		// Cut off: what it gathered may lack what the interruption stopped.
		return stepResult{}
	}
	if err != nil {
		// Gather reports inconsistent metrics (a bug, not the data): the
		// step cannot be trusted.
		b.logger.Error("gathering a step", "time", t, "err", err)
	}
	failed := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != collector.ScrapeSuccessMetric {
			continue
		}
		for _, m := range mf.Metric {
			if m.GetGauge().GetValue() != 1 {
				failed[metricLabel(m, "model")] = true
			}
		}
	}
	if err != nil {
		for _, m := range b.cfg.Models {
			failed[m.Name] = true
		}
	}
	r := stepResult{complete: true}
	for _, mf := range mfs {
		if !b.keep[mf.GetName()] {
			continue
		}
		kept := mf.Metric[:0]
		for _, m := range mf.Metric {
			if !failed[metricLabel(m, "model")] {
				kept = append(kept, m)
			}
		}
		if len(kept) > 0 {
			mf.Metric = kept
			r.families = append(r.families, mf)
		}
	}
	for _, m := range b.cfg.Models {
		if failed[m.Name] {
			r.failed = append(r.failed, m.Name)
		}
	}
	return r
}

func metricLabel(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// backfillCost adds up what the run cost ClickHouse, in all and by query.
type backfillCost struct {
	mu            sync.Mutex
	queries, rows uint64
	rowsByQuery   map[string]uint64
}

func (c *backfillCost) observe(_, query string, cost chquery.Cost, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries++
	c.rows += cost.Rows
	if c.rowsByQuery == nil {
		c.rowsByQuery = map[string]uint64{}
	}
	c.rowsByQuery[query] += cost.Rows
}

// historyStore holds the samples of the steps merged so far, by family and series,
// because OpenMetrics wants each family whole: its metadata once, then
// every sample of every series (each series' samples in increasing time).
type historyStore struct {
	extra    []*dto.LabelPair
	families map[string]*historyFamily
	samples  int
}

type historyFamily struct {
	help   string
	typ    dto.MetricType
	series map[string]*historySeries
}

type historySeries struct {
	labels []*dto.LabelPair
	ts     []int64
	values []float64
}

func newHistoryStore(extra []*dto.LabelPair) *historyStore {
	return &historyStore{extra: extra, families: map[string]*historyFamily{}}
}

func (s *historyStore) series() int {
	n := 0
	for _, f := range s.families {
		n += len(f.series)
	}
	return n
}

// add merges one step's families at time ts (milliseconds). Only gauges
// are expected (the backfilled families are all gauges).
func (s *historyStore) add(mfs []*dto.MetricFamily, ts int64) {
	for _, mf := range mfs {
		f := s.families[mf.GetName()]
		if f == nil {
			f = &historyFamily{help: mf.GetHelp(), typ: mf.GetType(), series: map[string]*historySeries{}}
			s.families[mf.GetName()] = f
		}
		for _, m := range mf.Metric {
			key := historySeriesKey(m.Label)
			ser := f.series[key]
			if ser == nil {
				ser = &historySeries{labels: withExtraLabels(m.Label, s.extra)}
				f.series[key] = ser
			}
			ser.ts = append(ser.ts, ts)
			ser.values = append(ser.values, m.GetGauge().GetValue())
			s.samples++
		}
	}
}

func historySeriesKey(labels []*dto.LabelPair) string {
	var b strings.Builder
	for _, l := range labels {
		b.WriteString(l.GetName())
		b.WriteByte(0)
		b.WriteString(l.GetValue())
		b.WriteByte(0)
	}
	return b.String()
}

// withExtraLabels adds the --label pairs to a series' own, sorted by name; a
// series' own label wins over an extra one of the same name.
func withExtraLabels(own, extra []*dto.LabelPair) []*dto.LabelPair {
	out := slices.Clone(own)
	for _, e := range extra {
		if !slices.ContainsFunc(own, func(l *dto.LabelPair) bool { return l.GetName() == e.GetName() }) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// write renders the store as OpenMetrics into path, through a temporary
// file in the same directory so that path is never left half written.
func (s *historyStore) write(path string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := s.render(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (s *historyStore) render(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, name := range sortedNames(s.families) {
		f := s.families[name]
		mf := &dto.MetricFamily{Name: &name, Help: &f.help, Type: &f.typ}
		for _, key := range sortedNames(f.series) {
			ser := f.series[key]
			for i := range ser.ts {
				mf.Metric = append(mf.Metric, &dto.Metric{Label: ser.labels,
					Gauge: &dto.Gauge{Value: &ser.values[i]}, TimestampMs: &ser.ts[i]})
			}
		}
		if _, err := expfmt.MetricFamilyToOpenMetrics(bw, mf); err != nil {
			return err
		}
	}
	if _, err := expfmt.FinalizeOpenMetrics(bw); err != nil {
		return err
	}
	return bw.Flush()
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
