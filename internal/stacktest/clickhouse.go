package stacktest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SchemaFile is the demo schema, relative to the repository root.
const SchemaFile = "deploy/clickhouse/schema.sql"

// applySchema creates the demo tables from the shipped DDL, statement by
// statement (the native protocol takes one statement per query).
func (s *Stack) applySchema() error {
	b, err := os.ReadFile(filepath.Join(s.Root, SchemaFile))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	for _, stmt := range SplitSQL(string(b)) {
		if err := s.ClickHouse.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", SchemaFile, err)
		}
	}
	return nil
}

// SplitSQL splits a script into statements: "--" comments removed, then
// split on ";", empty statements left out. It is for the shipped DDL, which
// has no "--" or ";" inside string literals.
func SplitSQL(script string) []string {
	lines := strings.Split(script, "\n")
	for i, line := range lines {
		if c := strings.Index(line, "--"); c >= 0 {
			lines[i] = line[:c]
		}
	}
	var stmts []string
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			stmts = append(stmts, stmt)
		}
	}
	return stmts
}
