package clickhouse_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

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

// The shipped read-only user (readonly = 2) may kill its own queries: the
// exporter, logged in as it, kills a query past its deadline by query_id
// and ClickHouse 18.16 stops it. The query builds an IN set, where 18.16
// does not always check max_execution_time, and its own
// max_execution_time = 0 makes sure nothing but the KILL stops it.
func TestReadOnlyUserKillsItsOwnQueries(t *testing.T) {
	seedProd(t)
	db := productionDatabase(t)
	cfg, err := config.Parse([]byte(fmt.Sprintf(
		"clickhouse: {addr: [%q], database: %s, username: mlmon, query_timeout: 60s}\n"+
			"models: [{name: m, task: regression, predictions: {table: predictions, timestamp: ts, id: request_id, prediction: prediction}}]\n",
		prod.Addr(), db)),
		config.WithLookupEnv(func(k string) (string, bool) { return prodPassword, k == config.PasswordEnv }))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	client, err := chquery.Open(cfg.ClickHouse, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	mlmonQueries := func() int {
		var n uint64
		if err := prod.Conn().QueryRow(context.Background(),
			"SELECT count() FROM system.processes WHERE user = 'mlmon' AND query_id LIKE 'mlmon-%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	// 200 blocks of one row, 0.5 s each.
	const slow = "SELECT count() FROM system.one WHERE dummy IN (SELECT toUInt8(sleepEachRow(0.5)) FROM (SELECT number FROM system.numbers LIMIT 200)) SETTINGS max_block_size = 1, max_execution_time = 0"
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	seen := make(chan int, 1)
	go func() { time.Sleep(time.Second); seen <- mlmonQueries() }()
	start := time.Now()
	err = client.QueryRows(ctx, "m", chquery.Query{Name: "slow", SQL: slow}, func(func(...any) error) error { return nil })
	deadline := time.Now()
	if err == nil {
		t.Fatal("a 100 s query finished within 1.5 s")
	}
	t.Logf("the query returned after %s: %v", deadline.Sub(start).Round(time.Millisecond), err)
	if n := <-seen; n != 1 {
		t.Fatalf("%d queries of mlmon running before the deadline, want 1: the test proves nothing", n)
	}
	for mlmonQueries() > 0 {
		if time.Since(deadline) > 1500*time.Millisecond {
			t.Fatalf("the query of mlmon still runs %s after its deadline\n%s", time.Since(deadline), logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("gone %s after the deadline", time.Since(deadline).Round(time.Millisecond))
	if !strings.Contains(logs.String(), "killed query") || strings.Contains(logs.String(), "cannot kill") {
		t.Errorf("the kill as mlmon was not logged as done:\n%s", logs)
	}
}
