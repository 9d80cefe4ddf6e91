package chtest

import (
	"fmt"
	"os"
	"strings"
)

// Statements reads a SQL file such as deploy/clickhouse/schema.sql and
// splits it into statements, dropping `--` comments, so that tests and
// benchmarks apply the shipped DDL as it is.
func Statements(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read SQL: %w", err)
	}
	var code strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "--")
		code.WriteString(line + "\n")
	}
	var out []string
	for _, s := range strings.Split(code.String(), ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
