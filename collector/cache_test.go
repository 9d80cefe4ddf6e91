package collector

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A computation that keeps failing is retried after growing, capped,
// jittered delays, not on every scrape.
func TestCacheRetriesBackOff(t *testing.T) {
	c := newCache[int](context.Background(), time.Second, newModelGate())
	c.backoff = backoff{base: 40 * time.Millisecond, max: 160 * time.Millisecond}
	var mu sync.Mutex
	var attempts []time.Time
	failing := func(context.Context) (int, error) {
		mu.Lock()
		attempts = append(attempts, time.Now())
		mu.Unlock()
		return 0, errors.New("no such table")
	}
	// Scrapes every 5 ms for 1.2 s: 240 chances to retry.
	end := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(end) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		if _, err := c.get(ctx, "m", time.Now(), 0, failing); err == nil {
			t.Fatal("a failing computation returned no error")
		}
		cancel()
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	// Delays after failures 1, 2, 3, 4…: [20,40], [40,80], [80,160],
	// [80,160] ms: within 1.2 s at most 16 attempts, and at least 5 even
	// when every retry comes 100 ms late on a busy machine.
	if n := len(attempts); n < 5 || n > 16 {
		t.Fatalf("%d attempts in 1.2 s; with the backoff 5 to 16", n)
	}
	for i := 1; i < len(attempts); i++ {
		gap := attempts[i].Sub(attempts[i-1])
		full := min(c.backoff.max, c.backoff.base<<(i-1))
		// The next attempt waits for a scrape after the delay: up to one
		// scrape interval (and a busy machine's scheduling) later.
		if gap < full/2 || gap > full+100*time.Millisecond {
			t.Errorf("attempt %d came %s after the previous; the backoff allows [%s, %s]", i+1, gap, full/2, full)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	b := backoff{base: 10 * time.Second, max: 5 * time.Minute}
	seen := map[time.Duration]bool{}
	for n, full := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 6: 5 * time.Minute, 100: 5 * time.Minute} {
		for range 50 {
			d := b.delay(n)
			if d < full/2 || d > full {
				t.Errorf("delay after %d failures: %s, outside [%s, %s]", n, d, full/2, full)
			}
			seen[d] = true
		}
	}
	if len(seen) < 200 {
		t.Errorf("%d distinct delays in 250 draws: no jitter", len(seen))
	}
}

// Once the target is replaced, no computation and no retry starts, and the
// one running is cancelled.
func TestCacheStopsWhenRetired(t *testing.T) {
	ctx, retire := context.WithCancel(context.Background())
	c := newCache[int](ctx, 10*time.Second, newModelGate())
	c.backoff = backoff{base: time.Millisecond, max: time.Millisecond}
	var attempts atomic.Int32
	cancelled := make(chan error, 1)
	blocking := func(ctx context.Context) (int, error) {
		attempts.Add(1)
		<-ctx.Done()
		cancelled <- ctx.Err()
		return 0, ctx.Err()
	}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	if _, err := c.get(short(), "m", time.Now(), 0, blocking); !errors.Is(err, errPending) {
		t.Fatalf("first get: %v, want pending", err)
	}
	retire()
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the running computation ended with %v, want cancelled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("the running computation was not cancelled by the retirement")
	}
	for range 20 {
		time.Sleep(5 * time.Millisecond)
		if _, err := c.get(short(), "m", time.Now(), 0, blocking); err == nil {
			t.Fatal("a retired cache returned a value")
		}
		if _, err := c.get(short(), "other", time.Now(), 0, blocking); !errors.Is(err, errRetired) {
			t.Fatalf("a new key on a retired cache: %v, want %v", err, errRetired)
		}
	}
	if n := attempts.Load(); n != 1 {
		t.Errorf("%d computations; after the retirement none may start", n)
	}
}

// A model's reference statistics and reference performance are computed
// one at a time; different models in parallel.
func TestCacheOneComputationPerModel(t *testing.T) {
	gate := newModelGate()
	stats := newCache[int](context.Background(), 5*time.Second, gate)
	perf := newCache[int](context.Background(), 5*time.Second, gate)
	var mu sync.Mutex
	running := map[string]int{}
	peak := map[string]int{}
	total, peakTotal := 0, 0
	compute := func(model string) func(context.Context) (int, error) {
		return func(context.Context) (int, error) {
			mu.Lock()
			running[model]++
			total++
			peak[model] = max(peak[model], running[model])
			peakTotal = max(peakTotal, total)
			mu.Unlock()
			time.Sleep(200 * time.Millisecond)
			mu.Lock()
			running[model]--
			total--
			mu.Unlock()
			return 1, nil
		}
	}
	var wg sync.WaitGroup
	for _, model := range []string{"a", "b"} {
		for _, c := range []*cache[int]{stats, perf} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.get(context.Background(), model, time.Now(), 0, compute(model)); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	for _, model := range []string{"a", "b"} {
		if peak[model] != 1 {
			t.Errorf("model %s: %d reference computations at once, want 1", model, peak[model])
		}
	}
	if peakTotal != 2 {
		t.Errorf("%d computations at once across two models, want 2", peakTotal)
	}
}
