package chtest

import (
	"context"
	"os"
	"testing"
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
