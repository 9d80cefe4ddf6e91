package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
)

// cache keeps one value per key that is expensive to compute and changes
// slowly: a model's reference statistics, its reference performance.
// Concurrent scrapes share one computation; a stale value is served while
// its refresh runs in the background; a computation is bounded by its own
// timeout rather than by the scrape that started it, so a value that takes
// longer than one scrape serves the next.
type cache[T any] struct {
	timeout time.Duration
	mu      sync.Mutex
	entries map[string]*cacheEntry[T]
}

type cacheEntry[T any] struct {
	mu       sync.Mutex
	val      T
	computed time.Time // zero until a computation succeeded
	running  chan struct{}
	err      error // of the last computation
}

func newCache[T any](timeout time.Duration) *cache[T] {
	return &cache[T]{timeout: timeout, entries: map[string]*cacheEntry[T]{}}
}

var errPending = errors.New("still being computed")

// get returns the value for key, computing it when there is none or when it
// is older than maxAge (0: never expires).
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
	if e.running == nil {
		done := make(chan struct{})
		e.running = done
		go func() {
			// Background: its queries outlive the scrape on purpose and
			// are killed when the timeout passes.
			cctx, cancel := context.WithTimeout(chquery.Background(context.Background()), c.timeout)
			defer cancel()
			val, err := compute(cctx)
			e.mu.Lock()
			if err == nil {
				e.val, e.computed = val, now
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
		// The last attempt failed and a retry is running: report the
		// failure now rather than "pending" forever.
		var zero T
		return zero, lastErr
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
