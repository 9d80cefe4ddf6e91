package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// The file is parsed into a yaml.Node tree and walked against the schema by
// hand, rather than decoded into structs, because only the node tree knows
// the line of every key and value, and because decoding stops at the first
// type error while operators deserve the full list.

const (
	maxModelNameLen = 200
	// maxMergeDepth and mergeBudget bound how far merge keys (<<) are
	// followed: merged mappings may themselves merge, and a few lines of
	// YAML can otherwise expand exponentially or into a cycle.
	maxMergeDepth = 16
	mergeBudget   = 100000
)

// Keys of each section, in the order they are documented.
var (
	rootKeys        = []string{"clickhouse", "defaults", "models"}
	clickhouseKeys  = []string{"addr", "database", "username", "password_file", "tls", "dial_timeout", "query_timeout", "max_parallel_queries"}
	tlsKeys         = []string{"enabled", "ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"}
	settingsKeys    = []string{"window", "delay", "bins", "max_categories", "min_samples", "max_classes"}
	modelKeys       = append([]string{"name", "task", "positive_class", "predictions", "ground_truth", "performance", "features", "reference", "thresholds", "sample", "preaggregated"}, settingsKeys...)
	predictionsKeys = []string{"table", "timestamp", "id", "model_column", "version_column", "prediction", "score", "latency", "error"}
	groundTruthKeys = []string{"table", "id", "label", "timestamp", "distributed_join"}
	performanceKeys = []string{"window", "delay"}
	featureKeys     = []string{"name", "column", "type"}
	referenceKeys   = []string{"from", "to", "offset", "table", "prediction", "label"}
	preaggKeys      = []string{"table", "interval"}
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

// walker checks a node tree against the schema, collecting problems as it
// goes and building the resolved configuration.
type walker struct {
	opts     options
	problems []Problem
	// budget is the number of mapping entries merge keys may still expand
	// to; see mergeBudget.
	budget         int
	budgetReported bool
}

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
	o := &object{at: at, path: path, fields: map[string]field{}}
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

// Scalar conversions. Each reports a problem and returns false when the
// value has the wrong type.

func (w *walker) asString(f field, path string) (string, bool) {
	v := resolve(f.val)
	if v == nil || v.Kind != yaml.ScalarNode {
		w.add(f.val, path, "must be a string, got %s", describe(v))
		return "", false
	}
	// Any scalar is accepted and its text kept verbatim, so that
	// positive_class: 1 means the label "1" rather than a type error.
	return v.Value, true
}

func (w *walker) asInt(f field, path string) (int, bool) {
	v := resolve(f.val)
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		w.add(f.val, path, "must be an integer, got %s", describe(v))
		return 0, false
	}
	var i int
	if err := v.Decode(&i); err != nil {
		w.add(f.val, path, "integer out of range: %s", describe(v))
		return 0, false
	}
	return i, true
}

func (w *walker) asFloat(f field, path string) (float64, bool) {
	v := resolve(f.val)
	if v == nil || v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
		w.add(f.val, path, "must be a number, got %s", describe(v))
		return 0, false
	}
	var x float64
	if err := v.Decode(&x); err != nil {
		w.add(f.val, path, "must be a number, got %s", describe(v))
		return 0, false
	}
	return x, true
}

func (w *walker) asBool(f field, path string) (bool, bool) {
	v := resolve(f.val)
	// yaml.v3 would turn "yes" or "on" into true when decoding into a bool;
	// the tag check keeps to true and false only.
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		w.add(f.val, path, "must be true or false, got %s", describe(v))
		return false, false
	}
	var b bool
	if err := v.Decode(&b); err != nil {
		w.add(f.val, path, "must be true or false, got %s", describe(v))
		return false, false
	}
	return b, true
}

func (w *walker) asDuration(f field, path string) (time.Duration, bool) {
	v := resolve(f.val)
	if v != nil && v.Kind == yaml.ScalarNode {
		if d, err := parseDuration(v.Value); err == nil {
			return d, true
		}
	}
	w.add(f.val, path, "must be a duration such as 30s, 5m, 1h or 1d, got %s", describe(v))
	return 0, false
}

func (w *walker) asTime(f field, path string) (time.Time, bool) {
	v := resolve(f.val)
	if v != nil && v.Kind == yaml.ScalarNode {
		if t, err := time.Parse(time.RFC3339, v.Value); err == nil {
			return t, true
		}
	}
	w.add(f.val, path, "must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z, got %s", describe(v))
	return time.Time{}, false
}

// Typed getters: each leaves *dst unchanged unless key is present and
// valid, so callers preset defaults.

func (w *walker) str(o *object, key string, dst *string) bool {
	f, ok := o.get(key)
	if !ok {
		return false
	}
	s, ok := w.asString(f, o.join(key))
	if ok {
		*dst = s
	}
	return ok
}

func (w *walker) boolean(o *object, key string, dst *bool) {
	if f, ok := o.get(key); ok {
		if b, ok := w.asBool(f, o.join(key)); ok {
			*dst = b
		}
	}
}

// intRange reads an integer in [lo, hi].
func (w *walker) intRange(o *object, key string, dst *int, lo, hi int) {
	f, ok := o.get(key)
	if !ok {
		return
	}
	i, ok := w.asInt(f, o.join(key))
	switch {
	case !ok:
	case i < lo || i > hi:
		if hi == math.MaxInt {
			w.add(f.val, o.join(key), "must be at least %d, got %d", lo, i)
		} else {
			w.add(f.val, o.join(key), "must be between %d and %d, got %d", lo, hi, i)
		}
	default:
		*dst = i
	}
}

// duration reads a duration, which must be positive unless allowZero.
// Prometheus syntax has no sign, so negative values never parse.
func (w *walker) duration(o *object, key string, dst *time.Duration, allowZero bool) bool {
	f, ok := o.get(key)
	if !ok {
		return false
	}
	d, ok := w.asDuration(f, o.join(key))
	if !ok {
		return false
	}
	if d == 0 && !allowZero {
		w.add(f.val, o.join(key), "must be greater than 0")
		return false
	}
	*dst = d
	return true
}

// ident reads an identifier (or, with table, a possibly qualified table
// name).
func (w *walker) ident(o *object, key string, dst *string, required, table bool) {
	f, ok := o.get(key)
	if !ok {
		if required && o != nil {
			w.missing(o, key)
		}
		return
	}
	s, ok := w.asString(f, o.join(key))
	if !ok {
		return
	}
	w.checkIdent(f.val, o.join(key), s, table)
	*dst = s
}

func (w *walker) checkIdent(n *yaml.Node, path, s string, table bool) {
	switch {
	case table && !ValidTable(s):
		w.add(n, path, "invalid identifier %q (want table or db.table, each matching [A-Za-z_][A-Za-z0-9_]*)", s)
	case !table && !ValidIdentifier(s):
		w.add(n, path, "invalid identifier %q (want [A-Za-z_][A-Za-z0-9_]*)", s)
	}
}

// nonEmpty reads a string that must not be empty.
func (w *walker) nonEmpty(o *object, key string, dst *string, required bool) bool {
	f, ok := o.get(key)
	if !ok {
		if required && o != nil {
			w.missing(o, key)
		}
		return false
	}
	s, ok := w.asString(f, o.join(key))
	if !ok {
		return false
	}
	if s == "" {
		w.add(f.val, o.join(key), "must not be empty")
		return false
	}
	*dst = s
	return true
}

// list returns the items of the sequence under key, nil if absent or not a
// list.
func (w *walker) list(o *object, key string) ([]*yaml.Node, bool) {
	f, ok := o.get(key)
	if !ok {
		return nil, false
	}
	v := resolve(f.val)
	if v.Kind != yaml.SequenceNode {
		w.add(f.val, o.join(key), "must be a list, got %s", describe(v))
		return nil, false
	}
	return v.Content, true
}

func (w *walker) config(root *yaml.Node) *Config {
	cfg := &Config{Defaults: DefaultSettings()}
	r := resolve(root)
	if r == nil || r.Kind != yaml.MappingNode {
		w.add(root, "", "the configuration must be a mapping with clickhouse and models, got %s", describe(r))
		return cfg
	}
	o := w.object(root, root, "", rootKeys)

	if ch := w.section(o, "clickhouse", clickhouseKeys, true); ch != nil {
		cfg.ClickHouse = w.clickhouse(ch)
	}
	if d := w.section(o, "defaults", settingsKeys, false); d != nil {
		w.settings(d, &cfg.Defaults)
	}

	f, ok := o.get("models")
	if !ok {
		w.add(root, "models", "no models configured")
		return cfg
	}
	items, ok := w.list(o, "models")
	if !ok {
		return cfg
	}
	if len(items) == 0 {
		w.add(f.val, "models", "no models configured")
		return cfg
	}
	names := map[string]int{} // name -> line of first use
	for i, item := range items {
		path := fmt.Sprintf("models[%d]", i)
		m, nameNode := w.model(item, path, cfg.Defaults)
		if m.Name != "" {
			if first, dup := names[m.Name]; dup {
				w.add(nameNode, path+".name", "duplicate model name %q (first at line %d)", m.Name, first)
			} else {
				names[m.Name] = nameNode.Line
			}
		}
		cfg.Models = append(cfg.Models, m)
	}
	return cfg
}

func (w *walker) clickhouse(o *object) ClickHouse {
	ch := ClickHouse{
		Database:           DefaultDatabase,
		Username:           DefaultUsername,
		DialTimeout:        DefaultDialTimeout,
		QueryTimeout:       DefaultQueryTimeout,
		MaxParallelQueries: DefaultMaxParallelQueries,
	}

	if items, ok := w.list(o, "addr"); ok {
		if len(items) == 0 {
			f, _ := o.get("addr")
			w.add(f.val, o.join("addr"), "at least one address is required")
		}
		for i, item := range items {
			path := fmt.Sprintf("%s[%d]", o.join("addr"), i)
			s, ok := w.asString(field{val: item}, path)
			if !ok {
				continue
			}
			if msg := checkHostPort(s); msg != "" {
				w.add(item, path, "%s", msg)
				continue
			}
			ch.Addr = append(ch.Addr, s)
		}
	} else if !o.has("addr") {
		w.missing(o, "addr")
	}

	w.ident(o, "database", &ch.Database, false, false)
	w.nonEmpty(o, "username", &ch.Username, false)
	w.duration(o, "dial_timeout", &ch.DialTimeout, false)
	w.duration(o, "query_timeout", &ch.QueryTimeout, false)
	w.intRange(o, "max_parallel_queries", &ch.MaxParallelQueries, 1, 64)

	if t := w.section(o, "tls", tlsKeys, false); t != nil {
		ch.TLS = w.tls(t)
	}

	var pwFile string
	if w.str(o, "password_file", &pwFile) && pwFile != "" {
		ch.PasswordFile = w.opts.resolvePath(pwFile)
		data, err := w.opts.readFile(ch.PasswordFile)
		if err != nil {
			// err comes from opening or reading the file and names the
			// path, never the content.
			f, _ := o.get("password_file")
			w.add(f.val, o.join("password_file"), "cannot read password file: %v", err)
		} else {
			ch.Password = Secret(strings.TrimRight(string(data), "\r\n"))
		}
	} else if pw, ok := w.opts.lookupEnv(PasswordEnv); ok {
		ch.Password = Secret(pw)
	}
	return ch
}

func checkHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Sprintf("must be host:port, got %q", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Sprintf("invalid port in %q", s)
	}
	return ""
}

func (w *walker) tls(o *object) TLS {
	var t TLS
	w.boolean(o, "enabled", &t.Enabled)
	w.str(o, "ca_file", &t.CAFile)
	w.str(o, "cert_file", &t.CertFile)
	w.str(o, "key_file", &t.KeyFile)
	w.str(o, "server_name", &t.ServerName)
	w.boolean(o, "insecure_skip_verify", &t.InsecureSkipVerify)
	t.CAFile = w.opts.resolvePath(t.CAFile)
	t.CertFile = w.opts.resolvePath(t.CertFile)
	t.KeyFile = w.opts.resolvePath(t.KeyFile)

	if !t.Enabled {
		// Settings that only matter with TLS on, given while it is off,
		// most likely mean that enabling it was forgotten, and the
		// connection would silently go out in plain text.
		set := map[string]bool{
			"ca_file": t.CAFile != "", "cert_file": t.CertFile != "", "key_file": t.KeyFile != "",
			"server_name": t.ServerName != "", "insecure_skip_verify": t.InsecureSkipVerify,
		}
		for _, k := range o.keys {
			if set[k] {
				w.add(o.fields[k].val, o.join(k), "set, but %s is not true", o.join("enabled"))
			}
		}
		return t
	}

	switch {
	case t.CertFile != "" && t.KeyFile == "":
		w.add(o.fields["cert_file"].val, o.join("key_file"), "required when cert_file is set")
	case t.KeyFile != "" && t.CertFile == "":
		w.add(o.fields["key_file"].val, o.join("cert_file"), "required when key_file is set")
	case t.CertFile != "":
		if _, err := loadKeyPair(w.opts.readFile, t.CertFile, t.KeyFile); err != nil {
			w.add(o.fields["cert_file"].val, o.join("cert_file"), "%v", err)
		}
	}
	if t.CAFile != "" {
		if _, err := loadCAPool(w.opts.readFile, t.CAFile); err != nil {
			w.add(o.fields["ca_file"].val, o.join("ca_file"), "%v", err)
		}
	}
	return t
}

// settings applies the settings keys present in o on top of s.
func (w *walker) settings(o *object, s *Settings) {
	w.duration(o, "window", &s.Window, false)
	w.duration(o, "delay", &s.Delay, true)
	w.intRange(o, "bins", &s.Bins, 2, 100)
	w.intRange(o, "max_categories", &s.MaxCategories, 1, 1000)
	w.intRange(o, "min_samples", &s.MinSamples, 1, math.MaxInt)
	w.intRange(o, "max_classes", &s.MaxClasses, 2, 1000)
}

// model checks one models[] item. It also returns the node of the name, for
// reporting duplicates.
func (w *walker) model(item *yaml.Node, path string, defaults Settings) (Model, *yaml.Node) {
	m := Model{Settings: defaults, Thresholds: map[string]float64{}}
	if isNull(resolve(item)) {
		w.add(item, path, "must be a mapping, got null")
		return m, item
	}
	o := w.object(item, item, path, modelKeys)
	if o == nil {
		return m, item
	}

	nameNode := item
	if w.nonEmpty(o, "name", &m.Name, true) {
		nameNode = o.fields["name"].val
		if n := utf8.RuneCountInString(m.Name); n > maxModelNameLen {
			w.add(nameNode, o.join("name"), "must be at most %d characters, got %d", maxModelNameLen, n)
		}
	}

	// taskKnown guards the task-dependent checks below, so that a bad task
	// is reported once rather than as a cascade.
	taskKnown := false
	if f, ok := o.get("task"); !ok {
		w.missing(o, "task")
	} else if s, ok := w.asString(f, o.join("task")); ok {
		switch Task(s) {
		case TaskBinary, TaskMulticlass, TaskRegression:
			m.Task, taskKnown = Task(s), true
		default:
			w.add(f.val, o.join("task"), "must be one of %s, %s or %s, got %q", TaskBinary, TaskMulticlass, TaskRegression, s)
		}
	}

	if f, ok := o.get("positive_class"); ok {
		if taskKnown && m.Task != TaskBinary {
			w.add(f.key, o.join("positive_class"), "only allowed when task is %s", TaskBinary)
		} else {
			w.nonEmpty(o, "positive_class", &m.PositiveClass, false)
		}
	} else if m.Task == TaskBinary {
		w.add(o.at, o.join("positive_class"), "required when task is %s", TaskBinary)
	}

	w.settings(o, &m.Settings)

	if p := w.section(o, "predictions", predictionsKeys, true); p != nil {
		m.Predictions = w.predictions(p, m.Task, taskKnown)
	}

	if g := w.section(o, "ground_truth", groundTruthKeys, false); g != nil {
		gt := &GroundTruth{}
		w.ident(g, "table", &gt.Table, true, true)
		w.ident(g, "id", &gt.ID, true, false)
		w.ident(g, "label", &gt.Label, true, false)
		w.ident(g, "timestamp", &gt.Timestamp, true, false)
		gt.DistributedJoin = JoinAuto
		if f, ok := g.get("distributed_join"); ok {
			if s, ok := w.asString(f, g.join("distributed_join")); ok {
				if !slices.Contains(joinStrategies, s) {
					w.add(f.val, g.join("distributed_join"), "must be one of %s, got %q%s", strings.Join(joinStrategies, ", "), s, suggest(s, joinStrategies))
				} else {
					gt.DistributedJoin = s
				}
			}
		}
		m.GroundTruth = gt
	}

	m.Performance = Performance{Window: m.Settings.Window, Delay: m.Settings.Delay}
	if p := w.section(o, "performance", performanceKeys, false); p != nil {
		if !o.has("ground_truth") {
			w.add(o.fields["performance"].key, o.join("performance"), "requires ground_truth: performance metrics need labels")
		}
		w.duration(p, "window", &m.Performance.Window, false)
		w.duration(p, "delay", &m.Performance.Delay, true)
	}

	if items, ok := w.list(o, "features"); ok {
		m.Features = w.features(items, o.join("features"))
	}

	if r := w.section(o, "reference", referenceKeys, false); r != nil {
		m.Reference = w.reference(r)
	}

	if t := w.section(o, "thresholds", nil, false); t != nil {
		w.thresholds(t, m.Thresholds)
	}

	m.Sample = 1
	if f, ok := o.get("sample"); ok {
		if x, ok := w.asFloat(f, o.join("sample")); ok {
			if !(x > 0 && x <= 1) {
				w.add(f.val, o.join("sample"), "must be a ratio in (0, 1], got %v", x)
			} else {
				m.Sample = x
			}
		}
	}

	if p := w.section(o, "preaggregated", preaggKeys, false); p != nil {
		m.Preaggregated = w.preaggregated(p, m)
	}
	return m, nameNode
}

// preaggregated checks a model's pre-aggregation table. The interval must
// be whole seconds, because the view rounds Unix seconds, and must divide
// the window, so that the rounded window keeps its length. A sample does
// not apply: the view aggregated every row, and counts of a sampled
// reference beside unsampled current counts would mislead.
func (w *walker) preaggregated(o *object, m Model) *Preaggregated {
	p := &Preaggregated{}
	w.ident(o, "table", &p.Table, true, true)
	if !w.duration(o, "interval", &p.Interval, false) {
		if !o.has("interval") {
			w.missing(o, "interval")
		}
		return p
	}
	f := o.fields["interval"]
	switch {
	case p.Interval%time.Second != 0:
		w.add(f.val, o.join("interval"), "must be whole seconds, got %s", describe(resolve(f.val)))
	case m.Settings.Window%p.Interval != 0:
		w.add(f.val, o.join("interval"), "must divide the model's window (%s), got %s", model.Duration(m.Settings.Window), describe(resolve(f.val)))
	}
	if m.Sample < 1 {
		w.add(o.at, o.path, "cannot be combined with sample: the aggregates cover every row")
	}
	return p
}

func (w *walker) predictions(o *object, task Task, taskKnown bool) Predictions {
	var p Predictions
	w.ident(o, "table", &p.Table, true, true)
	w.ident(o, "timestamp", &p.Timestamp, true, false)
	w.ident(o, "id", &p.ID, true, false)
	w.ident(o, "model_column", &p.ModelColumn, false, false)
	w.ident(o, "version_column", &p.VersionColumn, false, false)
	w.ident(o, "prediction", &p.Prediction, true, false)
	if f, ok := o.get("score"); ok && taskKnown && task != TaskBinary {
		w.add(f.key, o.join("score"), "only allowed when task is %s", TaskBinary)
	} else {
		w.ident(o, "score", &p.Score, false, false)
	}
	w.ident(o, "latency", &p.Latency, false, false)
	w.ident(o, "error", &p.Error, false, false)
	return p
}

func (w *walker) features(items []*yaml.Node, path string) []Feature {
	var features []Feature
	names := map[string]int{} // name -> line of first use
	for i, item := range items {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if isNull(resolve(item)) {
			w.add(item, ipath, "must be a mapping, got null")
			continue
		}
		o := w.object(item, item, ipath, featureKeys)
		if o == nil {
			continue
		}
		var f Feature
		if w.nonEmpty(o, "name", &f.Name, true) {
			n := o.fields["name"].val
			if first, dup := names[f.Name]; dup {
				w.add(n, o.join("name"), "duplicate feature name %q (first at line %d)", f.Name, first)
			} else {
				names[f.Name] = n.Line
			}
		}
		if o.has("column") {
			w.ident(o, "column", &f.Column, false, false)
		} else if f.Name != "" {
			// The name doubles as the column, so it must be an identifier;
			// report it at the name, which is what the operator wrote.
			f.Column = f.Name
			if !ValidIdentifier(f.Name) {
				w.add(o.fields["name"].val, o.join("name"), "invalid identifier %q (want [A-Za-z_][A-Za-z0-9_]*, or set column to the column's name)", f.Name)
			}
		}
		if fv, ok := o.get("type"); !ok {
			w.missing(o, "type")
		} else if s, ok := w.asString(fv, o.join("type")); ok {
			switch FeatureType(s) {
			case FeatureNumeric, FeatureCategorical:
				f.Type = FeatureType(s)
			default:
				w.add(fv.val, o.join("type"), "must be %s or %s, got %q", FeatureNumeric, FeatureCategorical, s)
			}
		}
		features = append(features, f)
	}
	if len(features) == 0 {
		return nil
	}
	return features
}

func (w *walker) reference(o *object) *Reference {
	r := &Reference{}
	fromOK := w.timeField(o, "from", &r.From)
	toOK := w.timeField(o, "to", &r.To)
	w.duration(o, "offset", &r.Offset, false)
	w.ident(o, "table", &r.Table, false, true)
	w.ident(o, "prediction", &r.Prediction, false, false)
	w.ident(o, "label", &r.Label, false, false)

	var kinds []string
	if o.has("from") || o.has("to") {
		kinds = append(kinds, "from/to")
		r.Kind = ReferenceFixed
	}
	if o.has("offset") {
		kinds = append(kinds, "offset")
		r.Kind = ReferenceRolling
	}
	if o.has("table") {
		kinds = append(kinds, "table")
		r.Kind = ReferenceTable
	}
	if len(kinds) != 1 {
		msg := "must set exactly one of from/to, offset or table"
		if n := len(kinds); n > 1 {
			msg += ", got " + strings.Join(kinds[:n-1], ", ") + " and " + kinds[n-1]
		}
		w.add(o.at, o.path, "%s", msg)
	}

	switch {
	case o.has("from") && !o.has("to"):
		w.add(o.fields["from"].key, o.join("to"), "required when from is set")
	case o.has("to") && !o.has("from"):
		w.add(o.fields["to"].key, o.join("from"), "required when to is set")
	case fromOK && toOK && !r.From.Before(r.To):
		w.add(o.fields["to"].val, o.join("to"), "must be after from (%s)", r.From.Format(time.RFC3339))
	}
	if !o.has("table") {
		for _, k := range []string{"prediction", "label"} {
			if f, ok := o.get(k); ok {
				w.add(f.key, o.join(k), "only allowed with %s", o.join("table"))
			}
		}
	}
	return r
}

func (w *walker) timeField(o *object, key string, dst *time.Time) bool {
	f, ok := o.get(key)
	if !ok {
		return false
	}
	t, ok := w.asTime(f, o.join(key))
	if ok {
		*dst = t
	}
	return ok
}

func (w *walker) thresholds(o *object, dst map[string]float64) {
	for _, name := range o.keys {
		f := o.fields[name]
		path := o.join(name)
		if !slices.Contains(knownThresholds, name) {
			w.add(f.key, path, "unknown threshold%s", suggest(name, knownThresholds))
			continue
		}
		if isNull(resolve(f.val)) {
			continue
		}
		x, ok := w.asFloat(f, path)
		switch {
		case !ok:
		case math.IsNaN(x) || math.IsInf(x, 0):
			w.add(f.val, path, "must be a finite number, got %s", describe(resolve(f.val)))
		case x < 0:
			w.add(f.val, path, "must not be negative, got %v", x)
		case ratioThresholds[name] && x > 1:
			w.add(f.val, path, "is a ratio and must be at most 1, got %v (write 0.05, not 5, for 5%%)", x)
		default:
			dst[name] = x
		}
	}
}

// suggest returns a " (did you mean ...?)" hint for a misspelt key, or "".
func suggest(got string, candidates []string) string {
	if len(got) > 64 {
		return ""
	}
	best, bestDist := "", 3 // more than two edits away is not a typo
	for _, c := range candidates {
		if d := editDistance(got, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
