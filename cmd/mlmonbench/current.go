//go:build !chdb

package main

import "errors"

// onCurrent needs chDB: build with -tags chdb (make bench does).
func onCurrent(string, []string, []string, []string, int) (floor, scrape []cost, err error) {
	return nil, nil, errors.New("mlmonbench was built without -tags chdb (make bench builds with it)")
}
