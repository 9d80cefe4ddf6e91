package chquery

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/config"
)

// syncBuffer is a log destination the test reads while the client writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// slowBlock is how long one block of the slow queries takes: ClickHouse may
// stop a query only between blocks.
const slowBlock = 500 * time.Millisecond

// Slow queries: 200 blocks of one row, each sleeping slowBlock (100 s in
// all). sleepEachRow sleeps at most 3 s per block on 18.16, hence one row
// per block. Their own max_execution_time = 0 overrides the client's, as
// where 18.16 does not check it (building an IN set, now and then), so
// that only the kill can stop them.
var slowQueries = map[string]string{
	// Read by the main stream, where max_execution_time is checked.
	"main_stream": "SELECT sum(sleepEachRow(0.5)) FROM (SELECT number FROM system.numbers LIMIT 200) SETTINGS max_block_size = 1, max_execution_time = 0",
	// Read while building the set of an IN subquery, as the label join
	// does: 18.16 does not check max_execution_time there.
	"in_set": "SELECT count() FROM system.one WHERE dummy IN (SELECT toUInt8(sleepEachRow(0.5)) FROM (SELECT number FROM system.numbers LIMIT 200)) SETTINGS max_block_size = 1, max_execution_time = 0",
}

// processes lists the query_ids system.processes holds that start with
// prefix, as the server's admin sees them.
func processes(t *testing.T, prefix string) []string {
	t.Helper()
	rows, err := server.Conn().Query(context.Background(), "SELECT query_id FROM system.processes WHERE startsWith(query_id, ?)", prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func loggingClient(t *testing.T, yaml string) (*Client, *syncBuffer) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	c, err := Open(cfg.ClickHouse, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, logs
}

// A query whose deadline passes is killed by its query_id: within one
// second plus one block of the deadline system.processes no longer lists
// it, the kill is logged, and Running counts it until then.
func TestKillOnDeadline(t *testing.T) {
	for name, sql := range slowQueries {
		t.Run(name, func(t *testing.T) {
			c, logs := loggingClient(t, "clickhouse: {addr: [\""+server.Addr()+"\"], query_timeout: 60s}\nmodels: [{name: m, task: regression, predictions: {table: t, timestamp: ts, id: id, prediction: p}}]\n")
			ctx, cancel := context.WithTimeout(WithScrape(context.Background(), 7), 1500*time.Millisecond)
			defer cancel()
			seen := make(chan int, 1)
			go func() {
				time.Sleep(time.Second)
				seen <- len(processes(t, c.idPrefix+"-"))
			}()
			start := time.Now()
			err := c.QueryRows(ctx, "m", Query{Name: "slow", SQL: sql}, func(func(...any) error) error { return nil })
			deadline := time.Now()
			if err == nil {
				t.Fatal("a 100 s query finished within a 1.5 s deadline")
			}
			if took := deadline.Sub(start); took > 2*time.Second {
				t.Errorf("the query returned after %s, past its 1.5 s deadline", took)
			}
			if <-seen == 0 {
				t.Error("the query was not seen running before the deadline: the test proves nothing")
			}
			for {
				ids := processes(t, c.idPrefix+"-")
				if len(ids) == 0 {
					break
				}
				if time.Since(deadline) > time.Second+slowBlock {
					t.Fatalf("still running %s after the deadline: %v\n%s", time.Since(deadline).Round(time.Millisecond), ids, logs)
				}
				time.Sleep(20 * time.Millisecond)
			}
			gone := time.Since(deadline)
			t.Logf("%s: gone from system.processes %s after the deadline", name, gone.Round(time.Millisecond))
			// Running forgets the query once the kill confirmed it gone
			// (polled every killPoll).
			for c.Running("m") != 0 {
				if time.Since(deadline) > 2*time.Second+slowBlock {
					t.Fatalf("Running(m) = %d after the query was gone", c.Running("m"))
				}
				time.Sleep(10 * time.Millisecond)
			}
			if !strings.Contains(logs.String(), "killed query") || !strings.Contains(logs.String(), "-s7-slow") {
				t.Errorf("the kill was not logged with the query_id:\n%s", logs)
			}
		})
	}
}
