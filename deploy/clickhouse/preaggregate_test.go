package clickhouse_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// preaggregate.sql applies after schema.sql on ClickHouse 18.16, twice (IF
// NOT EXISTS everywhere), and the demo data writer's inserts then fill the
// aggregate table: for every demo model and every column its views list,
// the merged row count equals the model's predictions, and the present
// counts equal the column's non-missing values.
func TestPreaggregateOn1816(t *testing.T) {
	const db = "preaggregate"
	ctx := context.Background()
	if err := applySchema(demo, db); err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{demo.Addr()}, Auth: clickhouse.Auth{Database: db}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stmts := mustStatements(t, "preaggregate.sql")
	for range 2 {
		for _, s := range stmts {
			if err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("preaggregate.sql on ClickHouse 18.16: %v\n%s", err, s)
			}
		}
	}
	cmd := exec.Command(filepath.Join(binDir, "demodata"), "--clickhouse.addr="+demo.Addr(), "--clickhouse.database="+db,
		"--rate=1", "--history=1h", "--reference.length=1h")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("demodata: %v\n%s", err, out)
	}

	// Each column with the full scan's notion of present: finite numbers,
	// non-NULL categories.
	for _, tc := range []struct {
		model, table, filter, column, present string
	}{
		{"churn", "predictions", "model = 'churn'", "age", "isFinite(toFloat64(age))"},
		{"churn", "predictions", "model = 'churn'", "tenure_months", "1"},
		{"churn", "predictions", "model = 'churn'", "monthly_charges", "isFinite(ifNull(monthly_charges, nan))"},
		{"churn", "predictions", "model = 'churn'", "score", "isFinite(ifNull(score, nan))"},
		{"churn", "predictions", "model = 'churn'", "plan", "1"},
		{"churn", "predictions", "model = 'churn'", "region", "isNotNull(region)"},
		{"intent", "predictions", "model = 'intent'", "prediction", "1"},
		{"eta", "eta_predictions", "1", "distance_km", "isFinite(distance_km)"},
		{"eta", "eta_predictions", "1", "prediction", "isFinite(prediction)"},
		{"eta", "eta_predictions", "1", "city", "1"},
		{"churn", "predictions", "model = 'churn'", "ts", "1"},
		{"churn", "predictions", "model = 'churn'", "latency_ms", "isFinite(latency_ms)"},
		{"churn", "predictions", "model = 'churn'", "is_error", "is_error != 0"},
		{"eta", "eta_predictions", "1", "is_error", "is_error != 0"},
	} {
		var rows, present, aggRows, aggPresent uint64
		q := fmt.Sprintf("SELECT count(), countIf(%s) FROM %s WHERE %s", tc.present, tc.table, tc.filter)
		if err := conn.QueryRow(ctx, q).Scan(&rows, &present); err != nil {
			t.Fatal(err)
		}
		q = "SELECT countMerge(rows), sumMerge(present) FROM mlmon_feature_aggregates WHERE model = ? AND feature = ?"
		if err := conn.QueryRow(ctx, q, tc.model, tc.column).Scan(&aggRows, &aggPresent); err != nil {
			t.Fatal(err)
		}
		if rows == 0 || aggRows != rows || aggPresent != present {
			t.Errorf("%s.%s: aggregates count %d rows, %d present; the table %d, %d", tc.model, tc.column, aggRows, aggPresent, rows, present)
		}
	}
}
