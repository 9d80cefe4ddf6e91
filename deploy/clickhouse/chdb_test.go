//go:build chdb

// The checks that need a current ClickHouse, on chDB (the current engine as
// a library; scripts/install-chdb.sh installs it, internal/compat loads it):
//
//	go test -tags chdb ./deploy/clickhouse/
//
// With the tag and without the library they fail, never skip.

package clickhouse_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mlmon/mlmon/internal/compat"
)

func openChDB(t *testing.T) *compat.ChDB {
	t.Helper()
	lib, err := compat.LibChDB()
	if err != nil {
		t.Fatal(err)
	}
	db, err := compat.OpenChDB(lib, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func query(t *testing.T, db *compat.ChDB, sql string) string {
	t.Helper()
	out, err := db.Raw(sql, "TSV")
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.TrimSpace(string(out))
}

// TestCurrentClickHouse runs the checks on one chDB session: the engine
// takes one data path per process.
func TestCurrentClickHouse(t *testing.T) {
	db := openChDB(t)
	t.Run("ProductionDDL", func(t *testing.T) { productionDDL(t, db) })
	t.Run("UserSQLParses", func(t *testing.T) { userSQLParses(t, db) })
	t.Run("Preaggregate", func(t *testing.T) { preaggregateCurrent(t, db) })
}

// productionDDL runs schema-production.sql, which 18.16 cannot (TTL,
// codecs), and the sampling-key alternative its comment offers.
func productionDDL(t *testing.T, db *compat.ChDB) {
	t.Logf("ClickHouse %s", query(t, db, "SELECT version()"))
	stmts := mustStatements(t, "schema-production.sql")
	for _, s := range stmts {
		if err := db.Exec(s); err != nil {
			t.Fatalf("schema-production.sql: %v", err)
		}
	}
	// Twice: IF NOT EXISTS everywhere.
	for _, s := range stmts {
		if err := db.Exec(s); err != nil {
			t.Fatalf("schema-production.sql, again: %v", err)
		}
	}
	dbName := productionDatabase(t)
	got := query(t, db, "SELECT count() FROM system.tables WHERE database = '"+dbName+"' AND engine_full LIKE '%TTL ts + toIntervalDay(90)%'")
	if got != "4" {
		t.Errorf("%s tables with the TTL: %s, want 4", dbName, got)
	}

	// The commented alternative: predictions with a sampling key.
	raw, err := os.ReadFile("schema-production.sql")
	if err != nil {
		t.Fatal(err)
	}
	data := string(raw)
	order := regexp.MustCompile(`(?m)^--\s+(ORDER BY \(model, toStartOfHour.*)$`).FindStringSubmatch(data)
	sample := regexp.MustCompile(`(?m)^--\s+(SAMPLE BY .*)$`).FindStringSubmatch(data)
	if order == nil || sample == nil {
		t.Fatal("schema-production.sql no longer shows the sampling-key alternative")
	}
	var predictions string
	for _, s := range stmts {
		if strings.HasPrefix(s, "CREATE TABLE IF NOT EXISTS "+dbName+".predictions") {
			predictions = s
		}
	}
	variant := strings.Replace(predictions, dbName+".predictions", dbName+".predictions_sampled", 1)
	variant = strings.Replace(variant, "ORDER BY (model, ts)", order[1]+"\n"+sample[1], 1)
	if err := db.Exec(variant); err != nil {
		t.Fatalf("the sampling-key alternative: %v", err)
	}
	if key := query(t, db, "SELECT sampling_key FROM system.tables WHERE database = '"+dbName+"' AND name = 'predictions_sampled'"); key != "cityHash64(request_id)" {
		t.Errorf("sampling key %q", key)
	}
}

// userSQLParses: chDB has no access storage to run mlmon-user.sql
// against, but its parser must accept every statement.
func userSQLParses(t *testing.T, db *compat.ChDB) {
	for _, s := range mustStatements(t, userSQL) {
		if _, err := db.Raw("EXPLAIN AST "+s, "TSV"); err != nil {
			t.Errorf("%s does not parse on current ClickHouse: %v", userSQL, err)
		}
	}
}
