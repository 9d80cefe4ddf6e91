package chtest

import (
	"fmt"
	"os"
	"testing"
)

// Main is a TestMain body: it starts one server for the package's tests,
// stores it in *srv, runs the tests and stops it. A server that cannot start
// fails the run; it never turns into skipped tests.
func Main(m *testing.M, srv **Server) {
	os.Exit(Run(m, srv))
}

// Run is Main for a TestMain that has its own cleanup to do after the
// tests: it returns the exit code instead of exiting.
func Run(m *testing.M, srv **Server) int {
	dir, err := os.MkdirTemp("", "mlmon-clickhouse-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chtest:", err)
		os.RemoveAll(dir)
		return 1
	}
	*srv = s
	code := m.Run()
	s.Stop()
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "chtest: server files kept in", dir)
	}
	return code
}
