package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// The file is parsed into a yaml.Node tree and walked by hand, rather than
// decoded into structs, because only the node tree knows the line of every
// key and value, and because decoding stops at the first type error while
// operators deserve the full list.

// maxMergeDepth and mergeBudget bound how far merge keys (<<) are
// followed: merged mappings may themselves merge, and a few lines of
// YAML can otherwise expand exponentially or into a cycle.
const (
	maxMergeDepth = 16
	mergeBudget   = 100000
)

// yamlErrorRE extracts the line from yaml.v3 syntax errors, which look like
// "yaml: line 3: mapping values are not allowed in this context".
var yamlErrorRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses exactly one YAML document and returns its root node.
// An empty document yields an empty mapping, so that the walker reports
// what is missing from it.
func parseYAML(data []byte) (*yaml.Node, []Problem) {
	empty := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return empty, nil
		}
		return nil, []Problem{yamlProblem(err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, []Problem{yamlProblem(err)}
	default:
		// Silently ignoring everything after the first document would hide
		// half of a concatenated file.
		return nil, []Problem{{Line: extra.Line, Msg: "multiple YAML documents are not supported"}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return empty, nil
	}
	return doc.Content[0], nil
}

func yamlProblem(err error) Problem {
	msg := err.Error()
	if m := yamlErrorRE.FindStringSubmatch(msg); m != nil {
		if line, err := strconv.Atoi(m[1]); err == nil {
			return Problem{Line: line, Msg: "invalid YAML: " + m[2]}
		}
	}
	return Problem{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// walker reads a node tree for a schema, collecting problems as it goes.
// It knows YAML and how to report about it, not what mlmon's keys mean:
// the schema (schema.go) calls its getters section by section.
type walker struct {
	problems []Problem
	// budget is the number of mapping entries merge keys may still expand
	// to; see mergeBudget.
	budget         int
	budgetReported bool
	// reads, when not nil, records the path of every key the schema asked
	// for, so that a test can check that every declared key is read.
	reads map[string]bool
}

func newWalker() walker { return walker{budget: mergeBudget} }

func (w *walker) add(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	w.problems = append(w.problems, Problem{Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases to the node they refer to. Problems about a value
// are still reported at the alias, where the operator used it.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit null. Like a decoder
// into structs, the walker treats "key:" with no value as if the key were
// not there.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || n.Kind == yaml.AliasNode ||
		(n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// describe renders a value for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if utf8.RuneCountInString(v) > 64 {
		v = string([]rune(v)[:64]) + "..."
	}
	return strconv.Quote(v)
}

type field struct {
	key, val *yaml.Node // val is unresolved, so its line is where it was written
}

// object is a mapping checked against a list of known keys.
type object struct {
	// at is where problems about the object as a whole, such as a missing
	// key, are reported: the key introducing it, or the list item.
	at     *yaml.Node
	path   string
	fields map[string]field
	keys   []string // document order, for deterministic reporting
	reads  map[string]bool
}

func (o *object) join(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// get returns the field for key unless it is absent or null.
func (o *object) get(key string) (field, bool) {
	if o == nil {
		return field{}, false
	}
	if o.reads != nil {
		o.reads[o.join(key)] = true
	}
	f, ok := o.fields[key]
	if !ok || isNull(resolve(f.val)) {
		return field{}, false
	}
	return f, true
}

func (o *object) has(key string) bool {
	_, ok := o.get(key)
	return ok
}

func (w *walker) missing(o *object, key string) {
	w.add(o.at, o.join(key), "required key missing")
}

// object checks that n is a mapping whose keys are all in known (nil means
// any key) and occur once. It returns nil, after reporting, when n is not a
// mapping; a null n yields an empty object.
func (w *walker) object(n, at *yaml.Node, path string, known []string) *object {
	o := &object{at: at, path: path, fields: map[string]field{}, reads: w.reads}
	r := resolve(n)
	if isNull(r) {
		return o
	}
	if r.Kind != yaml.MappingNode {
		w.add(n, path, "must be a mapping, got %s", describe(r))
		return nil
	}
	for _, p := range w.pairs(r, path, 0) {
		k := resolve(p.key)
		if k == nil || k.Kind != yaml.ScalarNode {
			w.add(p.key, path, "keys must be strings, got %s", describe(k))
			continue
		}
		name := k.Value
		if prev, dup := o.fields[name]; dup {
			if !p.merged {
				w.add(p.key, o.join(name), "duplicate key (first at line %d)", prev.key.Line)
			}
			continue
		}
		if known != nil && !slices.Contains(known, name) {
			w.add(p.key, o.join(name), "unknown key%s", suggest(name, known))
			continue
		}
		o.fields[name] = field{key: p.key, val: p.val}
		o.keys = append(o.keys, name)
	}
	return o
}

type pair struct {
	key, val *yaml.Node
	merged   bool
}

// pairs lists the entries of mapping m, expanding merge keys. Entries
// written in m come first, so that they take precedence over merged ones,
// as the YAML merge key specification requires.
func (w *walker) pairs(m *yaml.Node, path string, depth int) []pair {
	w.budget -= len(m.Content) / 2
	if w.budget < 0 {
		if !w.budgetReported {
			w.budgetReported = true
			w.add(m, path, "merge keys (<<) expand to too many entries")
		}
		return nil
	}
	var own, merged []pair
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, w.merge(v, path, depth)...)
			continue
		}
		own = append(own, pair{key: k, val: v, merged: depth > 0})
	}
	return append(own, merged...)
}

func (w *walker) merge(v *yaml.Node, path string, depth int) []pair {
	if depth >= maxMergeDepth {
		w.add(v, path, "merge keys (<<) nested too deeply")
		return nil
	}
	var maps []*yaml.Node
	switch src := resolve(v); {
	case src != nil && src.Kind == yaml.MappingNode:
		maps = append(maps, src)
	case src != nil && src.Kind == yaml.SequenceNode:
		for _, c := range src.Content {
			if r := resolve(c); r != nil && r.Kind == yaml.MappingNode {
				maps = append(maps, r)
			} else {
				w.add(c, path, "merge key (<<) entries must be mappings, got %s", describe(r))
			}
		}
	default:
		w.add(v, path, "merge key (<<) value must be a mapping or a list of mappings, got %s", describe(src))
	}
	var out []pair
	for _, m := range maps {
		out = append(out, w.pairs(m, path, depth+1)...)
	}
	return out
}

// section returns the sub-object under key, or nil when it is absent (after
// reporting it if required) or not a mapping.
func (w *walker) section(o *object, key string, known []string, required bool) *object {
	f, ok := o.get(key)
	if !ok {
		if required && o != nil {
			w.missing(o, key)
		}
		return nil
	}
	return w.object(f.val, f.key, o.join(key), known)
}
