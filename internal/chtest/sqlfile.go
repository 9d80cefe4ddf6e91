package chtest

import (
	"fmt"
	"os"
	"strings"
)

// Statements reads a SQL file such as deploy/clickhouse/schema.sql and
// splits it with SplitSQL, so that tests and benchmarks apply the shipped
// DDL as it is.
func Statements(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read SQL: %w", err)
	}
	return SplitSQL(string(data)), nil
}

// SplitSQL splits a script into statements (the native protocol takes one
// statement per query): "--" comments removed, then split on ";", empty
// statements left out. It is for the shipped DDL, which has no "--" or ";"
// inside string literals.
func SplitSQL(script string) []string {
	lines := strings.Split(script, "\n")
	for i, line := range lines {
		lines[i], _, _ = strings.Cut(line, "--")
	}
	var stmts []string
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			stmts = append(stmts, stmt)
		}
	}
	return stmts
}
