//go:build chdb

package compat

import (
	"errors"
	"io"
	"testing"

	"github.com/mlmon/mlmon/internal/chquery"
)

// killStatements runs the kill pool's statements on chDB in the exporter's
// read-only session (readonly = 2): they parse, and readonly = 2 allows
// them. chDB runs one statement at a time per session (this binding holds
// a lock around each call), so a second statement cannot kill a running
// one here; killing a running query is proven on 18.16 only
// (internal/chquery and deploy/clickhouse tests).
func (e *env) killStatements(t *testing.T) {
	for _, c := range []struct{ sql, arg string }{
		{chquery.KillByIDSQL, "mlmon-compat-1-s1-operations"},
		{chquery.KillByPrefixSQL, "mlmon-compat-%"},
		{chquery.ListedSQL, "mlmon-compat-1-s1-operations"},
	} {
		sql, err := Bind(c.sql, c.arg)
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.chdb.Query(sql)
		if err != nil {
			t.Errorf("chDB: %s: %v", sql, err)
			continue
		}
		if len(r.Rows) != 0 {
			t.Errorf("chDB: %s: %d rows for a query_id nothing runs under", sql, len(r.Rows))
		}
		r18, err := e.run18(c.sql, c.arg)
		if errors.Is(err, io.EOF) && c.sql != chquery.ListedSQL {
			// 18.16 answers a KILL that matches nothing without a block;
			// the client takes that EOF for "nothing killed".
			continue
		}
		if err != nil {
			t.Errorf("18.16: %s: %v", c.sql, err)
			continue
		}
		if len(r18.Rows) != 0 {
			t.Errorf("18.16: %s: %d rows for a query_id nothing runs under", c.sql, len(r18.Rows))
		}
	}
}
