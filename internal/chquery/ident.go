package chquery

import (
	"fmt"
	"strings"

	"github.com/mlmon/mlmon/internal/config"
)

// quoteIdent quotes a column name. The config package validates identifiers at
// load time; the check here, by the same rule (config.ValidIdentifier), keeps
// a builder from ever splicing anything else.
func quoteIdent(name string) (string, error) {
	if !config.ValidIdentifier(name) {
		return "", fmt.Errorf("invalid identifier %q", name)
	}
	return "`" + name + "`", nil
}

// quoteTable quotes a table name, optionally qualified as db.table
// (config.ValidTable).
func quoteTable(name string) (string, error) {
	if !config.ValidTable(name) {
		return "", fmt.Errorf("invalid table name %q", name)
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = "`" + p + "`"
	}
	return strings.Join(parts, "."), nil
}

// identifiers quotes a set of names at once so that builders can fail early
// with the first invalid one instead of checking every use.
type identifiers struct {
	err error
}

func (ids *identifiers) col(name string) string {
	q, err := quoteIdent(name)
	if err != nil && ids.err == nil {
		ids.err = err
	}
	return q
}

func (ids *identifiers) table(name string) string {
	q, err := quoteTable(name)
	if err != nil && ids.err == nil {
		ids.err = err
	}
	return q
}
