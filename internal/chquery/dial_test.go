package chquery

import (
	"context"
	"sync"
	"testing"

	"github.com/mlmon/mlmon/internal/chtest"
	"github.com/mlmon/mlmon/internal/config"
)

// The connections the pool kept while ClickHouse restarted are checked
// before they are used again: every query after the restart succeeds, the
// first ones too.
func TestPoolDropsTheConnectionsOfARestartedServer(t *testing.T) {
	srv, err := chtest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := clientOf(t, srv.Addr())
	// As many queries at once as the default max_parallel_queries leave as
	// many connections in the pool.
	wave := func() []error {
		var wg sync.WaitGroup
		errs := make([]error, config.DefaultMaxParallelQueries)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var v uint8
				errs[i] = c.QueryRow(context.Background(), "m", Query{Name: "probe", SQL: "SELECT toUInt8(sleep(0.3) + 1)"}, &v)
			}()
		}
		wg.Wait()
		return errs
	}
	for _, err := range wave() {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	for i, err := range wave() {
		if err != nil {
			t.Errorf("query %d after the restart: %v", i, err)
		}
	}
}
