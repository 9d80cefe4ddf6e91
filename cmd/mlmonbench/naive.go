package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mlmon/mlmon/internal/stats"
)

// naivePeer is what a monitor that pulls rows would do: read the reference
// and the current window and the labels of every model to the client, then
// compute the same metrics there (implemented in Go for a fair comparison).
func (b *bench) naivePeer(numeric, categorical int, now time.Time) (time.Duration, int64) {
	proxy := newProxy(b.srv.Addr())
	defer proxy.ln.Close()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{proxy.ln.Addr().String()}, ReadTimeout: 10 * time.Minute})
	check(err)
	defer conn.Close()
	ctx := context.Background()
	_, names := columns(numeric, categorical)
	ref := [2]int64{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).Unix()}
	cur := [2]int64{now.Add(-time.Hour).Unix(), now.Unix()}

	start := time.Now()
	labels := map[string]string{}
	rows, err := conn.Query(ctx, "SELECT request_id, label FROM bench_labels WHERE ts >= toDateTime(?) ORDER BY ts", cur[0])
	check(err)
	for rows.Next() {
		var id, l string
		check(rows.Scan(&id, &l))
		labels[id] = l
	}
	rows.Close()

	var sink float64 // keeps the computations from being optimised away
	for m := range models {
		model := fmt.Sprintf("m%d", m)
		refCols := pull(conn, names, numeric, "", model, ref)
		curCols := pull(conn, names, numeric, "request_id, prediction, score, latency_ms, is_error, ", model, cur)
		for i := range names {
			if i < numeric {
				r, c := refCols.num[i], curCols.num[i]
				sort.Float64s(r)
				var q []float64
				for k := 1; k < 10; k++ {
					q = append(q, r[int(float64(k)/10*float64(len(r)-1))])
				}
				edges := stats.QuantileEdges(q)
				rb, cb := make([]float64, len(edges)+1), make([]float64, len(edges)+1)
				for _, x := range r {
					rb[stats.BinIndex(edges, x)]++
				}
				for _, x := range c {
					cb[stats.BinIndex(edges, x)]++
				}
				sink += stats.PSI(rb, cb) + stats.JSDivergence(rb, cb) + stats.KSStatistic(rb, cb) + stats.ChiSquareP(rb, cb)
			} else {
				j := i - numeric
				counts := map[string]float64{}
				for _, v := range refCols.str[j] {
					counts[v]++
				}
				idx := map[string]int{}
				for v := range counts {
					idx[v] = len(idx)
				}
				rb, cb := make([]float64, len(idx)+1), make([]float64, len(idx)+1)
				for v, n := range counts {
					rb[idx[v]] = n
				}
				for _, v := range curCols.str[j] {
					if k, ok := idx[v]; ok {
						cb[k]++
					} else {
						cb[len(idx)]++
					}
				}
				sink += stats.PSI(rb, cb) + stats.JSDivergence(rb, cb) + stats.ChiSquareP(rb, cb)
			}
		}
		conf := stats.Confusion{}
		var buckets []stats.ScoreBucket
		for k, id := range curCols.ids {
			l, ok := labels[id]
			if !ok {
				continue
			}
			if conf[l] == nil {
				conf[l] = map[string]float64{}
			}
			conf[l][curCols.preds[k]]++
			sb := stats.ScoreBucket{Score: curCols.scores[k]}
			if l == "1" {
				sb.Positives = 1
			} else {
				sb.Negatives = 1
			}
			buckets = append(buckets, sb)
		}
		rep := stats.Classify(conf)
		sort.Float64s(curCols.latency)
		sink += rep.Accuracy + rep.Macro.F1 + stats.ROCAUC(buckets) + curCols.latency[len(curCols.latency)*99/100]
	}
	if math.IsNaN(sink) {
		fmt.Println("(naive peer produced NaN)")
	}
	return time.Since(start), proxy.received.Load()
}

type pulled struct {
	num     [][]float64
	str     [][]string
	ids     []string
	preds   []string
	scores  []float64
	latency []float64
}

func pull(conn clickhouse.Conn, names []string, numeric int, extra, model string, w [2]int64) pulled {
	q := "SELECT " + extra + strings.Join(names, ", ") + " FROM bench WHERE model = ? AND ts >= toDateTime(?) AND ts < toDateTime(?)"
	rows, err := conn.Query(context.Background(), q, model, w[0], w[1])
	check(err)
	defer rows.Close()
	p := pulled{num: make([][]float64, numeric), str: make([][]string, len(names)-numeric)}
	nums, strs := make([]float64, numeric), make([]string, len(names)-numeric)
	var (
		id, pred   string
		score, lat float64
		isErr      uint8
	)
	var dest []any
	if extra != "" {
		dest = append(dest, &id, &pred, &score, &lat, &isErr)
	}
	for i := range nums {
		dest = append(dest, &nums[i])
	}
	for i := range strs {
		dest = append(dest, &strs[i])
	}
	for rows.Next() {
		check(rows.Scan(dest...))
		for i, v := range nums {
			p.num[i] = append(p.num[i], v)
		}
		for i, v := range strs {
			p.str[i] = append(p.str[i], v)
		}
		if extra != "" {
			p.ids, p.preds = append(p.ids, id), append(p.preds, pred)
			p.scores, p.latency = append(p.scores, score), append(p.latency, lat)
		}
	}
	check(rows.Err())
	return p
}
