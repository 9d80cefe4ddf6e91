// Command mlmonbench measures what a scrape costs against what it must cost:
// it seeds a private ClickHouse with N rows × F features for three models and
// reports, per size, the floor (one pass over every column a scrape needs,
// plus the join with the labels), the exporter's scrape time (cold and with
// the reference cached), its peak RSS and queries per scrape, and a naive
// peer that pulls the window's rows and computes the same metrics in Go;
// then a 24 h window scraped from the predictions and from the per-minute
// aggregates of deploy/clickhouse/preaggregate.sql; then the same rows on
// one server and on Distributed tables over two shards, co-located and not.
// Built with -tags chdb, it also runs the SQL of a scrape logged by 18.16 on
// ClickHouse 26 in this process: for one busy model against the same floor,
// and for two models with and without the label-free estimate.
//
//	go run ./cmd/mlmonbench                      # default sizes
//	go run ./cmd/mlmonbench --rows=1000000 --features=25 --naive=false --preagg-rows=0
package main
