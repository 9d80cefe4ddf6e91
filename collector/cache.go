package collector

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
)

// cache keeps one value per key that is expensive to compute and changes
// slowly: a model's reference statistics, its reference performance.
// Concurrent scrapes share one computation; a stale value is served while
// its refresh runs in the background; a computation is bounded by its own
// timeout rather than by the scrape that started it, so a value that takes
// longer than one scrape serves the next. A failed computation is retried
// after a backoff (exponential, capped, jittered), not on every scrape; none
// starts once the cache's context ends (a reload replaced the target), and
// the one running then is cancelled.
type cache[T any] struct {
	timeout time.Duration
	ctx     context.Context // ends when the cache's target is replaced
	gate    *modelGate      // shared by a target's caches: one computation per model
	backoff backoff
	mu      sync.Mutex
	entries map[string]*cacheEntry[T]
}

type cacheEntry[T any] struct {
	mu       sync.Mutex
	val      T
	computed time.Time // zero until a computation succeeded
	running  chan struct{}
	err      error     // of the last computation
	failures int       // computations failed in a row
	retryAt  time.Time // no computation starts before, after a failure
}

func newCache[T any](ctx context.Context, timeout time.Duration, gate *modelGate) *cache[T] {
	return &cache[T]{timeout: timeout, ctx: ctx, gate: gate, backoff: referenceBackoff, entries: map[string]*cacheEntry[T]{}}
}

var (
	errPending = errors.New("still being computed")
	errRetired = errors.New("the configuration was reloaded")
)

// backoff is the delay before the next attempt after n failures in a row:
// base·2ⁿ⁻¹ capped at max, of which a random half is taken off (jitter), so
// that exporters and models that failed together do not retry together.
type backoff struct {
	base, max time.Duration
}

// referenceBackoff spaces out the retries of a reference that cannot be
// computed: 10 s, 20 s, 40 s, … up to 5 minutes, each less up to half.
var referenceBackoff = backoff{base: 10 * time.Second, max: 5 * time.Minute}

func (b backoff) delay(n int) time.Duration {
	d := b.max
	if n < 30 {
		d = min(b.max, b.base<<(n-1))
	}
	return d/2 + rand.N(d/2+1)
}

// modelGate lets one computation per model run at a time, across a
// target's caches (the reference statistics and the reference performance
// read the same rows).
type modelGate struct {
	mu    sync.Mutex
	slots map[string]chan struct{}
}

func newModelGate() *modelGate { return &modelGate{slots: map[string]chan struct{}{}} }

// acquire waits for the model's slot until ctx ends; release frees it.
func (g *modelGate) acquire(ctx context.Context, model string) (release func(), err error) {
	g.mu.Lock()
	slot := g.slots[model]
	if slot == nil {
		slot = make(chan struct{}, 1)
		g.slots[model] = slot
	}
	g.mu.Unlock()
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another reference computation of the model: %w", ctx.Err())
	}
}

// get returns the value for key (a model's name), computing it when there
// is none or when it is older than maxAge (0: never expires).
func (c *cache[T]) get(ctx context.Context, key string, now time.Time, maxAge time.Duration, compute func(context.Context) (T, error)) (T, error) {
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &cacheEntry[T]{}
		c.entries[key] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	have := !e.computed.IsZero()
	if have && (maxAge == 0 || now.Sub(e.computed) < maxAge) {
		defer e.mu.Unlock()
		return e.val, nil
	}
	if e.running == nil && c.ctx.Err() == nil && !time.Now().Before(e.retryAt) {
		done := make(chan struct{})
		e.running = done
		go func() {
			// Background: its queries outlive the scrape on purpose and
			// are killed when the timeout passes or the target is
			// replaced.
			cctx, cancel := context.WithTimeout(chquery.Background(c.ctx), c.timeout)
			defer cancel()
			var val T
			release, err := c.gate.acquire(cctx, key)
			if err == nil {
				val, err = compute(cctx)
				release()
			}
			e.mu.Lock()
			if err == nil {
				e.val, e.computed = val, now
				e.failures, e.retryAt = 0, time.Time{}
			} else {
				e.failures++
				e.retryAt = time.Now().Add(c.backoff.delay(e.failures))
			}
			e.err, e.running = err, nil
			e.mu.Unlock()
			close(done)
		}()
	}
	running, stale, lastErr := e.running, e.val, e.err
	e.mu.Unlock()
	if have {
		return stale, nil
	}
	if lastErr != nil {
		// The last attempt failed and a retry is running or waits for
		// its backoff: report the failure now rather than "pending".
		var zero T
		return zero, lastErr
	}
	if running == nil {
		// Nothing computed, nothing running, nothing failed: the target
		// was replaced before the first computation.
		var zero T
		return zero, errRetired
	}
	select {
	case <-running:
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%w: %w", errPending, ctx.Err())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.computed.IsZero() {
		return e.val, e.err
	}
	return e.val, nil
}

// peek returns the value for key when one has been computed (however old),
// without starting a computation or waiting for one.
func (c *cache[T]) peek(key string) (T, bool) {
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	var zero T
	if e == nil {
		return zero, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.computed.IsZero() {
		return zero, false
	}
	return e.val, true
}
