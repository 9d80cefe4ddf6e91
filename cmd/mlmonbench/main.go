package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/mlmon/mlmon/internal/chtest"
)

func main() {
	var (
		rowsFlag     = kingpin.Flag("rows", "Rows in the current window (all models), comma-separated sizes (0: skip the comparison with the floor).").Default("1000000,2000000,5000000").String()
		featuresFlag = kingpin.Flag("features", "Features per model at the largest row count, comma-separated sizes (4 numeric : 1 categorical).").Default("5,15,25").String()
		scrapes      = kingpin.Flag("scrapes", "Warm scrapes per size (the median is reported).").Default("5").Int()
		naive        = kingpin.Flag("naive", "Also run the naive peer.").Default("true").Bool()
		preaggRows   = kingpin.Flag("preagg-rows", "Rows over 24 h for the pre-aggregation comparison, comma-separated sizes (0: skip it).").Default("10000000").String()
		busyRows     = kingpin.Flag("busy-rows", "Predictions of one busy model over 24 h, comma-separated sizes, measured on 18.16 and (built with -tags chdb) ClickHouse 26 (0: skip it).").Default("3000000").String()
		estimateRows = kingpin.Flag("estimate-rows", "Predictions per model in the last hour for the label-free estimate's cost, on 18.16 and (built with -tags chdb) ClickHouse 26 (0: skip it).").Default("1000000").Int()
		manyCounts   = kingpin.Flag("models", "Numbers of models sharing one pair of tables, comma-separated, for the exporter's memory against the number of models (0: skip it).").Default("1,10,30").String()
		manyRows     = kingpin.Flag("models-rows", "Predictions in all for --models.").Default("300000").Int()
		clusterRows  = kingpin.Flag("cluster-rows", "Rows in the current window for the one-server against two-shards comparison (0: skip it).").Default("1000000").Int()
		keep         = kingpin.Flag("keep", "Keep the ClickHouse data directory.").Bool()
	)
	kingpin.Parse()
	var rows, preaggSizes []int
	var err error
	if *rowsFlag != "0" {
		rows, err = ints(*rowsFlag)
		check(err)
	}
	features, err := ints(*featuresFlag)
	check(err)
	if *preaggRows != "0" {
		preaggSizes, err = ints(*preaggRows)
		check(err)
	}

	dir, err := os.MkdirTemp("", "mlmonbench-")
	check(err)
	if !*keep {
		defer os.RemoveAll(dir)
	}
	srv, err := chtest.Start(filepath.Join(dir, "clickhouse"))
	check(err)
	defer srv.Stop()
	exporter := filepath.Join(dir, "exporter")
	check(build(exporter))

	b := &bench{srv: srv, dir: dir, exporter: exporter, scrapes: *scrapes, naive: *naive}
	var results []result
	maxF := features[len(features)-1]
	for _, n := range rows {
		results = append(results, b.run(n, maxF))
	}
	if len(rows) > 0 {
		maxN := rows[len(rows)-1]
		for _, f := range features[:len(features)-1] {
			results = append(results, b.run(maxN, f))
		}
	}
	var busy []busyResult
	if *busyRows != "0" {
		sizes, err := ints(*busyRows)
		check(err)
		for _, n := range sizes {
			busy = append(busy, b.busy(n, *scrapes))
		}
	}
	var est []estimateResult
	if *estimateRows > 0 {
		est = append(est, b.estimate(*estimateRows, *scrapes))
	}
	var many []manyResult
	if *manyCounts != "0" {
		counts, err := ints(*manyCounts)
		check(err)
		many = b.manyModels(counts, *manyRows)
	}
	var pre []preaggResult
	for _, n := range preaggSizes {
		pre = append(pre, b.preaggregated(n, maxF-maxF/5, maxF/5))
	}
	var clustered []clusterResult
	if *clusterRows > 0 {
		clustered = b.cluster(*clusterRows, maxF-maxF/5, maxF/5)
	}
	fmt.Println()
	if len(results) > 0 {
		printTable(os.Stdout, results)
	}
	for _, r := range busy {
		printBusy(os.Stdout, r)
	}
	for _, r := range est {
		printEstimate(os.Stdout, r)
	}
	if many != nil {
		printMany(os.Stdout, *manyRows, many)
	}
	for _, r := range pre {
		printPreagg(os.Stdout, r)
	}
	if len(pre) > 1 {
		printFlatness(os.Stdout, pre)
	}
	if clustered != nil {
		printCluster(os.Stdout, *clusterRows, clustered)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want positive integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "mlmonbench:", err)
		os.Exit(1)
	}
}
