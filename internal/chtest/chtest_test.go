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

// A cluster started here is a real one: every server knows the clusters,
// and a Distributed table spreads rows over the shards and copies them to
// each replica.
func TestClusterShardsAndReplicates(t *testing.T) {
	servers, err := StartCluster(t.TempDir(), 3, Clusters{"two": {{0}, {1}}, "repl": {{0}, {1, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	defer StopAll(servers)
	ctx := context.Background()
	var shards uint64
	if err := servers[2].Conn().QueryRow(ctx, "SELECT count() FROM system.clusters WHERE cluster = 'repl'").Scan(&shards); err != nil || shards != 3 {
		t.Fatalf("server 2 knows %d replicas of cluster repl (%v), want 3", shards, err)
	}
	if err := ExecAll(ctx, servers,
		"CREATE TABLE t_local (x UInt64) ENGINE = MergeTree ORDER BY x",
		"CREATE TABLE t AS t_local ENGINE = Distributed(repl, default, t_local, x)"); err != nil {
		t.Fatal(err)
	}
	// 18.16 sends a Distributed insert to the shards in the background
	// (and, synchronously, to one replica only).
	if err := servers[0].Exec(ctx, "INSERT INTO t SELECT number FROM numbers(10)"); err != nil {
		t.Fatal(err)
	}
	// x % 2 picks the shard: evens on server 0, odds on servers 1 and 2.
	for i, want := range []uint64{0 + 2 + 4 + 6 + 8, 1 + 3 + 5 + 7 + 9, 1 + 3 + 5 + 7 + 9} {
		var sum uint64
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := servers[i].Conn().QueryRow(ctx, "SELECT sum(x) FROM t_local").Scan(&sum)
			if err == nil && sum == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %d holds a sum of %d (%v), want %d", i, sum, err, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var sum uint64
	if err := servers[1].Conn().QueryRow(ctx, "SELECT sum(x) FROM t").Scan(&sum); err != nil || sum != 45 {
		t.Errorf("the Distributed table sums to %d (%v), want 45", sum, err)
	}
}
