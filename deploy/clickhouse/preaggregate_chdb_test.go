//go:build chdb

package clickhouse_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/compat"
	"github.com/mlmon/mlmon/internal/config"
)

// preaggregateCurrent: preaggregate.sql applies on the current engine after
// schema.sql (twice), inserts fill it, and the exporter's merge query runs
// there with the column types the driver scans on 18.16 too, and the same
// exact counts as a plain count of the rows.
func preaggregateCurrent(t *testing.T, db *compat.ChDB) {
	stmts := append(mustStatements(t, "schema.sql"), mustStatements(t, "preaggregate.sql")...)
	stmts = append(stmts, mustStatements(t, "preaggregate.sql")...)
	for _, s := range stmts {
		if err := db.Exec(s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
	// 7200 rows of churn over two hours from 2026-06-01T10:00:00Z.
	if err := db.Exec(`INSERT INTO predictions (ts, request_id, model, model_version, prediction, score, latency_ms, is_error,
	  age, tenure_months, monthly_charges, plan, region) SELECT toDateTime(1780308000 + number), toString(number), 'churn', 'v1',
	  ['0', '1'][number % 2 + 1], if(number % 7 = 0, NULL, (number % 100) / 100), 10, 0, 20 + number % 50, number % 48,
	  if(number % 10 = 0, NULL, number % 9 * 11.5), ['basic', 'pro', 'trial'][number % 3 + 1], if(number % 4 = 0, NULL, 'eu')
	  FROM numbers(7200)`); err != nil {
		t.Fatal(err)
	}
	m := &config.Model{Name: "churn", Predictions: config.Predictions{Table: "predictions", Timestamp: "ts", ID: "request_id", ModelColumn: "model", Prediction: "prediction"},
		Preaggregated: &config.Preaggregated{Table: "mlmon_feature_aggregates", Interval: time.Minute}}
	cols := []chquery.Binning{
		{Column: chquery.Column{Name: "age", Numeric: true}, Edges: []float64{30, 40, 50}, Min: 20, Max: 60},
		{Column: chquery.Column{Name: "plan"}, Categories: []string{"basic", "pro"}, Seen: []string{"basic", "pro"}},
		{Column: chquery.Column{Name: "region"}, Categories: []string{"eu"}},
	}
	w := chquery.Window{From: time.Unix(1780308000, 0), To: time.Unix(1780311600, 0)} // the first hour
	run := func(q chquery.Query, ok bool, err error) *compat.Result {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("query: ok %v, %v", ok, err)
		}
		sql, err := compat.Bind(q.SQL, q.Args...)
		if err != nil {
			t.Fatal(err)
		}
		r, err := db.Query(sql)
		if err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
		return r
	}
	check := func(what string, r *compat.Result, types []string, cells map[int]string) {
		t.Helper()
		var got []string
		for _, c := range r.Columns {
			got = append(got, c.Type)
		}
		if !slices.Equal(got, types) || len(r.Rows) != 1 {
			t.Fatalf("%s: column types %v in %d rows, want %v in one", what, got, len(r.Rows), types)
		}
		for i, want := range cells {
			if got := compat.Format(r.Rows[0][i]); strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(want, " ", "") {
				t.Errorf("%s: column %d (%s) = %s, want %s", what, i, r.Columns[i].Name, got, want)
			}
		}
	}
	// Independently: the first hour is rows 0…3599; age is 20 + n % 50
	// (20…69); plan cycles through three values, region is NULL for every
	// fourth row.
	check("categorical", run(chquery.PreaggregatedWindowQuery(m, w, cols)),
		[]string{"UInt64", "UInt64", "UInt64", "Array(UInt64)", "UInt64", "UInt64", "UInt64", "UInt64", "Array(UInt64)", "UInt64"},
		map[int]string{0: "3600", 1: "3600", 2: "3", 3: "[1200, 1200]", 4: "2400",
			5: "3600", 6: "2700", 7: "1", 8: "[2700]", 9: "0"})
	check("numeric", run(chquery.PreaggregatedDigestQuery(m, w, cols)),
		[]string{"String", "UInt64", "UInt64", "Array(Float64)", "Float64", "Float64"},
		map[int]string{0: `"age"`, 1: "3600", 2: "3600", 4: "20", 5: "69"})

	// The operations from the aggregates: the first hour current, both
	// hours the lookback; latency is 10 ms and no row failed.
	m.Predictions.Latency, m.Predictions.Error = "latency_ms", "is_error"
	q, err := chquery.PreaggregatedOperationsQuery(m, w, chquery.Window{From: w.From, To: w.To.Add(time.Hour)})
	check("operations", run(q, true, err),
		[]string{"UInt64", "UInt64", "Array(Float64)", "UInt64", "UInt64", "UInt8", "Array(UInt64)"},
		map[int]string{0: "3600", 1: "1780315199", 2: "[10, 10, 10]", 3: "3600", 4: "0", 6: "[7200, 7200, 7200, 7200]"})
}
