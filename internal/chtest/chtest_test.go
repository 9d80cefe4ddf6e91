package chtest

import (
	"context"
	"os"
	"testing"
	"time"
)

// The server keeps its ports and data across a restart, so a test can take
// ClickHouse away and bring it back under a running exporter.
func TestRestartKeepsPortsAndData(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ctx := context.Background()
	if err := s.Exec(ctx, "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x", "INSERT INTO t SELECT 7 FROM numbers(3)"); err != nil {
		t.Fatal(err)
	}
	port := s.TCPPort
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.TCPPort != port {
		t.Errorf("port changed: %d -> %d", port, s.TCPPort)
	}
	var n uint64
	if err := s.Conn().QueryRow(ctx, "SELECT count() FROM t WHERE x = 7").Scan(&n); err != nil || n != 3 {
		t.Errorf("after restart: %d rows, %v", n, err)
	}
	s.Stop()
	if _, err := os.Stat(dir); err != nil {
		t.Error(err)
	}
}

// CPUTime counts the server's own work: a query that keeps one thread busy
// adds about its duration, and a second of waiting adds next to nothing.
func TestCPUTimeCountsTheServersWork(t *testing.T) {
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ctx := context.Background()
	measure := func(fn func()) (cpu, wall time.Duration) {
		t.Helper()
		before, err := s.CPUTime()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		fn()
		wall = time.Since(start)
		after, err := s.CPUTime()
		if err != nil {
			t.Fatal(err)
		}
		return after - before, wall
	}
	busy, wall := measure(func() {
		var n uint64
		if err := s.Conn().QueryRow(ctx, "SELECT count() FROM numbers(200000000) WHERE intHash64(number) % 7 = 1 SETTINGS max_threads = 1").Scan(&n); err != nil {
			t.Fatal(err)
		}
	})
	idle, _ := measure(func() { time.Sleep(time.Second) })
	t.Logf("busy query: %s CPU in %s; a second asleep: %s CPU", busy, wall, idle)
	// 200M hashes keep 18.16 busy for about half a second; however slow the
	// machine, one thread cannot use more CPU than the query's wall time.
	if busy < 100*time.Millisecond || busy > wall+100*time.Millisecond {
		t.Errorf("a one-thread query of %s cost %s of CPU", wall, busy)
	}
	if idle > 200*time.Millisecond {
		t.Errorf("an idle second cost %s of CPU", idle)
	}
}

// A frozen server answers nothing, and answers again once thawed.
func TestFreezeStopsEveryThread(t *testing.T) {
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if err := s.Freeze(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	err = s.Conn().Ping(ctx)
	cancel()
	if thawErr := s.Thaw(); thawErr != nil {
		t.Fatal(thawErr)
	}
	if err == nil {
		t.Error("a frozen server answered a ping")
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Conn().Ping(ctx); err != nil {
		t.Errorf("thawed, the server does not answer: %v", err)
	}
}
