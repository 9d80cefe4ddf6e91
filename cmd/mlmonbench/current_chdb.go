//go:build chdb

package main

import (
	"fmt"
	"os"
	"time"

	"github.com/mlmon/mlmon/internal/compat"
)

// warmUpRounds is how often each query runs before it is timed: current
// releases compile an expression to machine code once they have met it
// three times (min_count_to_compile_expression), as they do for a running
// exporter's SQL from its third scrape on (the reference's bin edges, the
// expressions' constants, stay the same between scrapes). Compiled, the
// busy model's drift bins took 0.52 s, against 1.21 s with
// compile_expressions = 0.
const warmUpRounds = 3

// onCurrent seeds the same rows into chDB (ClickHouse 26, in this process)
// and times the floor queries and the scrape's queries there: each
// warmUpRounds times to warm up, then rounds times, one at a time; medians.
func onCurrent(dir string, seed, floor, scrape []string, rounds int) (floorTimes, scrapeTimes []time.Duration, err error) {
	lib, err := compat.LibChDB()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	db, err := compat.OpenChDB(lib, dir)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	if err := db.Exec(seed...); err != nil {
		return nil, nil, err
	}
	time1 := func(q string) (time.Duration, error) {
		start := time.Now()
		if _, err := db.Raw(q, "Null"); err != nil {
			return 0, fmt.Errorf("chDB: %w\n%s", err, q)
		}
		return time.Since(start), nil
	}
	qs := append(append([]string{}, floor...), scrape...)
	samples := make([][]time.Duration, len(qs))
	for round := range rounds + warmUpRounds {
		// Round-robin, so that every query meets the same machine.
		for i, q := range qs {
			d, err := time1(q)
			if err != nil {
				return nil, nil, err
			}
			if round >= warmUpRounds {
				samples[i] = append(samples[i], d)
			}
		}
	}
	for i := range qs {
		if i < len(floor) {
			floorTimes = append(floorTimes, median(samples[i]))
		} else {
			scrapeTimes = append(scrapeTimes, median(samples[i]))
		}
	}
	return floorTimes, scrapeTimes, nil
}
