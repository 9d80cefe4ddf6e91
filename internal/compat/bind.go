package compat

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Bind renders a query's positional '?' arguments into its text as
// clickhouse-go v2 does client-side (bindPositional and formatValue in its
// bind.go), so that an engine without the driver (chDB) runs exactly the SQL
// the exporter sends to the server. It knows the argument types mlmon's
// builders bind — strings, integers and []string — and refuses any other,
// rather than guessing at a rule it has not been checked against.
//
// Like clickhouse-go, it leaves a '?' alone inside a string literal, a quoted
// identifier or a comment, and turns an escaped "\?" into a literal '?'.
func Bind(query string, args ...any) (string, error) {
	var b strings.Builder
	next := 0
	var st scanState
	for i := 0; i < len(query); i++ {
		c := query[i]
		if !st.inIdentOrComment() {
			switch {
			case c == '\\' && i+1 < len(query) && query[i+1] == '?':
				b.WriteByte('?') // "\?" is a literal '?', in a string or not
				i++
				continue
			case c == '?' && !st.single:
				if next >= len(args) {
					return "", fmt.Errorf("bind: more '?' than the %d arguments", len(args))
				}
				v, err := literal(args[next])
				if err != nil {
					return "", fmt.Errorf("bind: argument %d: %w", next+1, err)
				}
				b.WriteString(v)
				next++
				continue
			}
		}
		end := st.update(query, i)
		b.WriteString(query[i : end+1])
		i = end
	}
	if next != len(args) {
		return "", fmt.Errorf("bind: %d arguments for %d placeholders", len(args), next)
	}
	return b.String(), nil
}

// Quote renders s as a ClickHouse string literal, escaping as clickhouse-go
// does: backslash, single quote and NUL.
func Quote(s string) string {
	return "'" + quoteReplacer.Replace(s) + "'"
}

var quoteReplacer = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`)

func literal(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return Quote(v), nil
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = Quote(s)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), nil
	}
	return "", fmt.Errorf("unsupported type %T: teach Bind clickhouse-go's rule for it", v)
}

// scanState tracks whether the scanner is inside a quoted identifier, a
// string literal or a comment.
type scanState struct {
	backtick, single, double, line bool
	block                          int // ClickHouse nests /* */ comments
}

func (s *scanState) inIdentOrComment() bool {
	return s.backtick || s.double || s.line || s.block > 0
}

// update consumes the byte at i and returns the index of the last byte it
// consumed: i, or i+1 for a two-byte token (an escape, a doubled quote, a
// comment delimiter).
func (s *scanState) update(q string, i int) int {
	c := q[i]
	two := func(d byte) bool { return i+1 < len(q) && q[i+1] == d }
	switch {
	case s.line:
		s.line = c != '\n'
	case s.block > 0:
		switch {
		case c == '/' && two('*'):
			s.block++
			return i + 1
		case c == '*' && two('/'):
			s.block--
			return i + 1
		}
	case s.backtick || s.single || s.double:
		quote := byte('`')
		if s.single {
			quote = '\''
		} else if s.double {
			quote = '"'
		}
		switch {
		case c == '\\' && i+1 < len(q):
			return i + 1
		case c == quote && two(quote):
			return i + 1
		case c == quote:
			s.backtick, s.single, s.double = false, false, false
		}
	default:
		switch {
		case c == '`':
			s.backtick = true
		case c == '\'':
			s.single = true
		case c == '"':
			s.double = true
		case c == '-' && two('-'):
			s.line = true
			return i + 1
		case c == '/' && two('*'):
			s.block = 1
			return i + 1
		}
	}
	return i
}
