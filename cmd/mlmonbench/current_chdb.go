//go:build chdb

package main

import (
	"fmt"
	"os"
	"syscall"
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
// warmUpRounds times to warm up, then rounds times, one at a time; medians
// of the wall time and of the process's CPU time (chDB's threads: this
// process does nothing else meanwhile).
func onCurrent(dir string, seed, floor, scrape []string, rounds int) (floorCosts, scrapeCosts []cost, err error) {
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
	time1 := func(q string) (cost, error) {
		cpu0, start := processCPU(), time.Now()
		if _, err := db.Raw(q, "Null"); err != nil {
			return cost{}, fmt.Errorf("chDB: %w\n%s", err, q)
		}
		return cost{wall: time.Since(start), cpu: processCPU() - cpu0}, nil
	}
	qs := append(append([]string{}, floor...), scrape...)
	samples := make([][]cost, len(qs))
	for round := range rounds + warmUpRounds {
		// Round-robin, so that every query meets the same machine.
		for i, q := range qs {
			c, err := time1(q)
			if err != nil {
				return nil, nil, err
			}
			if round >= warmUpRounds {
				samples[i] = append(samples[i], c)
			}
		}
	}
	for i := range qs {
		if i < len(floor) {
			floorCosts = append(floorCosts, medianCost(samples[i]))
		} else {
			scrapeCosts = append(scrapeCosts, medianCost(samples[i]))
		}
	}
	return floorCosts, scrapeCosts, nil
}

// processCPU is the CPU time this process (and chDB's threads in it) has
// used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
