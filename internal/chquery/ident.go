package chquery

import (
	"fmt"
	"regexp"
	"strings"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// quoteIdent quotes a column name. The config package validates identifiers at
// load time; the check here keeps a builder from ever splicing anything else.
func quoteIdent(name string) (string, error) {
	if !identRE.MatchString(name) {
		return "", fmt.Errorf("invalid identifier %q", name)
	}
	return "`" + name + "`", nil
}

// quoteTable quotes a table name, optionally qualified as db.table.
func quoteTable(name string) (string, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return "", fmt.Errorf("invalid table name %q", name)
	}
	for i, p := range parts {
		q, err := quoteIdent(p)
		if err != nil {
			return "", fmt.Errorf("invalid table name %q", name)
		}
		parts[i] = q
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
