package chquery

import (
	"strings"
	"time"
)

// Window is a half-open time range [From, To).
type Window struct {
	From, To time.Time
}

// Duration is the length of the window.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// Query is one SQL statement with its client-side bound arguments.
type Query struct {
	// Name is short and stable: it is part of the ClickHouse query_id,
	// names the query in its errors and debug log line, and is passed to
	// the Observer. The `query` label of mlmon_query_errors_total is not
	// taken from it: the collector counts a failure under its own name for
	// the step that ran the query, which may run several.
	Name string
	SQL  string
	Args []any
}

// sqlBuilder accumulates SQL text and its '?' arguments in order, so a
// builder cannot get the two out of step.
type sqlBuilder struct {
	sb   strings.Builder
	args []any
}

func (b *sqlBuilder) add(sql string, args ...any) *sqlBuilder {
	b.sb.WriteString(sql)
	b.args = append(b.args, args...)
	return b
}

// window renders `col >= toDateTime(?) AND col < toDateTime(?)`. Times are
// bound as Unix seconds: ClickHouse 18.16 and current releases parse
// toDateTime(UInt32/Int64) identically, whatever the server's time zone.
func (b *sqlBuilder) window(col string, w Window) *sqlBuilder {
	return b.add(col+" >= toDateTime(?) AND "+col+" < toDateTime(?)", w.From.Unix(), w.To.Unix())
}

func (b *sqlBuilder) query(name string) Query {
	return Query{Name: name, SQL: b.sb.String(), Args: b.args}
}
