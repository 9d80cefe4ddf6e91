package chquery

import (
	"regexp"
	"strings"
	"testing"
)

// prettySQL lays out one SQL statement for reading: each clause of a query
// on a line of its own, one line per item of a SELECT or WITH list and per
// condition of a WHERE, and subqueries indented. It only replaces the single
// space before a clause, item or condition by a line break and indentation,
// and never looks inside quoted strings or identifiers, so the text is the
// statement's own.
func prettySQL(sql string) string {
	type level struct {
		depth  int    // parenthesis depth of the query's own clauses
		clause string // the clause being written
	}
	var (
		out    strings.Builder
		depth  int
		levels = []level{{}}
		subq   []bool // per open parenthesis: it opens a subquery
	)
	newline := func(extra int) {
		out.WriteString("\n" + strings.Repeat("  ", len(levels)-1+extra))
	}
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		top := &levels[len(levels)-1]
		switch {
		case c == '\'' || c == '`':
			j := i + 1
			for j < len(sql) && sql[j] != c {
				if sql[j] == '\\' {
					j++
				}
				j++
			}
			out.WriteString(sql[i:min(j+1, len(sql))])
			i = j
		case c == '(':
			depth++
			sub := strings.HasPrefix(sql[i+1:], "SELECT ")
			subq = append(subq, sub)
			out.WriteByte(c)
			if sub {
				levels = append(levels, level{depth: depth, clause: "SELECT"})
				newline(0)
			}
		case c == ')':
			if n := len(subq); n > 0 {
				if subq[n-1] && len(levels) > 1 {
					levels = levels[:len(levels)-1]
					newline(0)
				}
				subq = subq[:n-1]
			}
			depth--
			out.WriteByte(c)
		case c == ',' && depth == top.depth && (top.clause == "SELECT" || top.clause == "WITH"):
			out.WriteByte(c)
			if i+1 < len(sql) && sql[i+1] == ' ' {
				i++
			}
			newline(1)
		case c == ' ' && depth == top.depth:
			rest := sql[i+1:]
			if kw := clauseAt(rest); kw != "" {
				if kw != "AND" {
					top.clause = kw
				}
				if kw != "AND" || top.clause == "WHERE" {
					indent := 0
					if kw == "AND" {
						indent = 1
					}
					newline(indent)
					out.WriteString(kw)
					i += len(kw)
					continue
				}
			}
			out.WriteByte(c)
		default:
			if i == 0 {
				if kw := clauseAt(sql); kw != "" {
					top.clause = kw
				}
			}
			out.WriteByte(c)
		}
	}
	return out.String()
}

// unprettySQL undoes prettySQL, for SQL without line breaks in its strings:
// TestGoldenSQL checks that a golden file is the builder's statement
// exactly, not a lookalike.
func unprettySQL(s string) string {
	s = afterParen.ReplaceAllString(s, "(")
	s = beforeParen.ReplaceAllString(s, ")")
	return lineBreak.ReplaceAllString(s, " ")
}

var (
	afterParen  = regexp.MustCompile(`\(\n *`)
	beforeParen = regexp.MustCompile(`\n *\)`)
	lineBreak   = regexp.MustCompile(`\n *`)
)

// clauseKeywords start a line in prettySQL; longer ones first.
var clauseKeywords = []string{"GLOBAL ANY LEFT JOIN", "ANY LEFT JOIN", "GROUP BY", "ORDER BY",
	"SELECT", "WITH", "FROM", "WHERE", "HAVING", "LIMIT", "SETTINGS", "USING", "ON", "AND"}

// clauseAt returns the keyword s starts with, as a whole word, or "".
func clauseAt(s string) string {
	for _, kw := range clauseKeywords {
		if strings.HasPrefix(s, kw) && (len(s) == len(kw) || s[len(kw)] == ' ') {
			return kw
		}
	}
	return ""
}

func TestPrettySQL(t *testing.T) {
	in := "SELECT a, f(b, c) AS d FROM (SELECT x AS a, 'FROM (SELECT, AND' AS b FROM `t` WHERE m = 'x' AND ts >= 1 AND g(p AND q)) GROUP BY a"
	want := `SELECT a,
  f(b, c) AS d
FROM (
  SELECT x AS a,
    'FROM (SELECT, AND' AS b
  FROM ` + "`t`" + `
  WHERE m = 'x'
    AND ts >= 1
    AND g(p AND q)
)
GROUP BY a`
	if got := prettySQL(in); got != want {
		t.Errorf("prettySQL:\n%s\nwant\n%s", got, want)
	}
	if got := unprettySQL(prettySQL(in)); got != in {
		t.Errorf("unprettySQL(prettySQL(in)) = %s", got)
	}
}
