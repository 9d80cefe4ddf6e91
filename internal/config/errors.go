package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a configuration, located precisely enough
// to fix it without guessing.
type Problem struct {
	// Line is the 1-based line in the file, or 0 when the YAML parser could
	// not tell.
	Line int
	// Path is the key path, such as "models[0].predictions.table", or ""
	// when the problem concerns the document as a whole.
	Path string
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is returned by Parse and Load (wrapped) when the configuration is
// invalid. It carries every problem found, not just the first, so that one
// edit-and-retry cycle can fix them all. Use errors.As to get at it.
type Error struct {
	// Problems are sorted by line; problems on the same line keep the order
	// in which they were found.
	Problems []Problem
}

func newError(problems []Problem) *Error {
	p := slices.Clone(problems)
	slices.SortStableFunc(p, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	return &Error{Problems: p}
}

// Error prints one problem per line, sorted by line.
func (e *Error) Error() string {
	p := slices.Clone(e.Problems)
	slices.SortStableFunc(p, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	lines := make([]string, len(p))
	for i, pr := range p {
		lines[i] = pr.String()
	}
	return strings.Join(lines, "\n")
}
