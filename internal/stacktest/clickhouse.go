package stacktest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlmon/mlmon/internal/chtest"
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
	for _, stmt := range chtest.SplitSQL(string(b)) {
		if err := s.ClickHouse.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", SchemaFile, err)
		}
	}
	return nil
}
