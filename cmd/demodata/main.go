package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/alecthomas/kingpin/v2"
)

func main() {
	var (
		addr     = kingpin.Flag("clickhouse.addr", "ClickHouse native address.").Default("127.0.0.1:9000").String()
		database = kingpin.Flag("clickhouse.database", "Database holding the demo tables.").Default("default").String()
		refFrom  = kingpin.Flag("reference.from", "Start of the reference period (RFC 3339).").Default("2026-01-01T00:00:00Z").String()
		refLen   = kingpin.Flag("reference.length", "Length of the reference period.").Default("24h").Duration()
		history  = kingpin.Flag("history", "How much recent history to write, ending now.").Default("6h").Duration()
		rate     = kingpin.Flag("rate", "Predictions per second per model.").Default("1").Float64()
		live     = kingpin.Flag("live", "Keep writing predictions and labels as time passes.").Bool()
		seed     = kingpin.Flag("seed", "Random seed.").Default("1").Uint64()
		drift    = kingpin.Flag("drift", "How far the recent data drifts from the reference: features shift and the models degrade (0 = healthy, 1 = severe).").Default("0").Float64()
		period   = kingpin.Flag("drift.period", "With --drift: the drift rises and falls over this period (a cosine wave; 0 = constant).").Default("0s").Duration()
	)
	kingpin.Parse()
	from, err := time.Parse(time.RFC3339, *refFrom)
	if err != nil {
		fail(fmt.Errorf("--reference.from: %w", err))
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{*addr},
		Auth: clickhouse.Auth{Database: *database, Username: "default", Password: os.Getenv("MLMON_CLICKHOUSE_PASSWORD")},
	})
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	g := newGenerator(rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15)))
	w := &writer{conn: conn}
	// The reference period: healthy data, every label delivered.
	healthy := schedule{}
	recent := schedule{amplitude: *drift, period: *period}
	if err := w.write(ctx, g.span(from, from.Add(*refLen), *rate, healthy, time.Time{})); err != nil {
		fail(fmt.Errorf("reference period: %w", err))
	}
	now := time.Now().Truncate(time.Second)
	batch := g.span(now.Add(-*history), now, *rate, recent, now)
	if err := w.write(ctx, batch); err != nil {
		fail(fmt.Errorf("history: %w", err))
	}
	fmt.Printf("demodata: wrote reference %s..%s and %s of history to %s\n",
		from.Format(time.RFC3339), from.Add(*refLen).Format(time.RFC3339), *history, *addr)
	if !*live {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := now
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-tick.C:
			t = t.Truncate(time.Second)
			b := g.span(last, t, *rate, recent, t)
			b.labels = append(b.labels, g.due(t)...)
			if err := w.write(ctx, b); err != nil {
				fmt.Fprintln(os.Stderr, "demodata:", err)
				continue
			}
			last = t
		}
	}
}

// schedule is how much the data drifts at a given time.
type schedule struct {
	amplitude float64
	period    time.Duration
}

func (s schedule) at(t time.Time) float64 {
	if s.period <= 0 {
		return s.amplitude
	}
	phase := float64(t.UnixNano()%int64(s.period)) / float64(s.period)
	return s.amplitude * (1 - math.Cos(2*math.Pi*phase)) / 2
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "demodata:", err)
	os.Exit(1)
}
