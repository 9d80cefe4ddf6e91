package config

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// schema is every key a configuration file may set, read from the yaml tags
// of the config types by a walk written here rather than with yamlKeys, so
// that the two check each other. Paths write list items as [], as in
// models[].features[].name.
type schema struct {
	keys []string // every key path, sections included
	// sections maps the path of each mapping read into a struct ("" for
	// the root) to its keys, inlined ones included.
	sections map[string][]string
}

var keyNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func readSchema(t *testing.T) schema {
	t.Helper()
	s := schema{sections: map[string][]string{}}
	var walk func(typ reflect.Type, section string)
	walk = func(typ reflect.Type, section string) {
		if _, ok := s.sections[section]; !ok {
			s.sections[section] = []string{}
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag, ok := f.Tag.Lookup("yaml")
			switch {
			case !ok:
				t.Errorf("%s.%s has no yaml tag: give it its key, or \"-\" if it is not one", typ.Name(), f.Name)
				continue
			case tag == "-":
				continue
			case tag == ",inline":
				walk(f.Type, section)
				continue
			case !keyNameRE.MatchString(tag):
				t.Errorf("%s.%s: yaml tag %q is not a plain key", typ.Name(), f.Name, tag)
				continue
			}
			if slices.Contains(s.sections[section], tag) {
				t.Errorf("%s.%s: key %q declared twice in section %q", typ.Name(), f.Name, tag, section)
			}
			s.sections[section] = append(s.sections[section], tag)
			path := tag
			if section != "" {
				path = section + "." + tag
			}
			s.keys = append(s.keys, path)

			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
				path += "[]"
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
				walk(ft, path)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return s
}

func TestSchemaTags(t *testing.T) {
	s := readSchema(t)
	// The walk must have found the sections the README documents; an empty
	// result would make the tests below pass vacuously.
	for _, section := range []string{"", "clickhouse", "clickhouse.tls", "defaults", "models[]",
		"models[].predictions", "models[].ground_truth", "models[].performance",
		"models[].features[]", "models[].reference", "models[].preaggregated", "models[].segments[]"} {
		if len(s.sections[section]) == 0 {
			t.Errorf("section %q has no keys", section)
		}
	}
	if len(s.sections) != 12 {
		t.Errorf("sections %v, want the 12 above", slices.Sorted(maps.Keys(s.sections)))
	}
}

func TestYAMLKeys(t *testing.T) {
	type inner struct {
		B int `yaml:"b"`
		C int `yaml:"c"`
	}
	type outer struct {
		A        int   `yaml:"a"`
		In       inner `yaml:",inline"`
		Derived  int   `yaml:"-"`
		D        int   `yaml:"d,omitempty"`
		Untagged int
	}
	// Inlined keys follow the struct's own: suggestions break ties by
	// order, and models have always listed their own keys first.
	want := []string{"a", "d", "b", "c"}
	if got := yamlKeys(reflect.TypeFor[outer]()); !slices.Equal(got, want) {
		t.Errorf("yamlKeys = %v, want %v", got, want)
	}
}

// yamlPaths lists the key paths written in a YAML tree, list items as [].
func yamlPaths(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			yamlPaths(c, prefix, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			yamlPaths(c, prefix+"[]", out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			path := n.Content[i].Value
			if prefix != "" {
				path = prefix + "." + path
			}
			out[path] = true
			yamlPaths(n.Content[i+1], path, out)
		}
	}
}

// The full example is the reference for the file format (the README points
// to it), so a key added to the structs must be added to it too.
func TestFullExampleSetsEveryKey(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	yamlPaths(&doc, "", written)
	for _, k := range readSchema(t).keys {
		if !written[k] {
			t.Errorf("testdata/full.yml does not set %s", k)
		}
	}
}

// A key declared in a tag but never read would be accepted and silently
// ignored; a key read but not declared could never be set.
func TestSchemaReadsEveryKey(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	l := newLoader(WithBaseDir("testdata"), WithLookupEnv(noEnv))
	l.reads = map[string]bool{}
	if _, err := l.parse(data); err != nil {
		t.Fatal(err)
	}
	index := regexp.MustCompile(`\[\d+\]`)
	read := map[string]bool{}
	for p := range l.reads {
		read[index.ReplaceAllString(p, "[]")] = true
	}
	declared := map[string]bool{}
	for _, k := range readSchema(t).keys {
		declared[k] = true
		if !read[k] {
			t.Errorf("%s is declared but never read", k)
		}
	}
	for k := range read {
		if !declared[k] {
			t.Errorf("%s is read but not declared by any yaml tag", k)
		}
	}
}

// find returns the mapping at section (a schema path) in n and its path with
// list indexes, trying every item of a list until one has the rest of the
// path.
func find(n *yaml.Node, segs []string, path string) (*yaml.Node, string) {
	if n.Kind == yaml.DocumentNode {
		return find(n.Content[0], segs, path)
	}
	if len(segs) == 0 {
		return n, path
	}
	name, isList := strings.CutSuffix(segs[0], "[]")
	if path != "" {
		name = "." + name
	}
	var v *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if "."+n.Content[i].Value == name || n.Content[i].Value == name {
			v = n.Content[i+1]
		}
	}
	if v == nil {
		return nil, ""
	}
	if !isList {
		return find(v, segs[1:], path+name)
	}
	for i, item := range v.Content {
		if m, p := find(item, segs[1:], fmt.Sprintf("%s%s[%d]", path, name, i)); m != nil {
			return m, p
		}
	}
	return nil, ""
}

// Each key, misspelt in its own section, is reported at its line and path
// with the key it resembles: the suggestions come from the tags at every
// level.
func TestUnknownKeySuggestedInEverySection(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	s := readSchema(t)
	for section, keys := range s.sections {
		for _, key := range keys {
			typo := key + "x"
			t.Run(section+"."+typo, func(t *testing.T) {
				var doc yaml.Node
				if err := yaml.Unmarshal(data, &doc); err != nil {
					t.Fatal(err)
				}
				var segs []string
				if section != "" {
					segs = strings.Split(section, ".")
				}
				m, path := find(&doc, segs, "")
				if m == nil || m.Kind != yaml.MappingNode {
					t.Fatalf("testdata/full.yml has no mapping at %s", section)
				}
				m.Content = append(m.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Value: typo},
					&yaml.Node{Kind: yaml.ScalarNode, Value: "1"})
				out, err := yaml.Marshal(&doc)
				if err != nil {
					t.Fatal(err)
				}
				if path != "" {
					path += "."
				}
				_, err = Parse(out, WithBaseDir("testdata"), WithLookupEnv(noEnv))
				checkProblems(t, string(out), err, []expect{{
					marker: typo + ":",
					path:   path + typo,
					msg:    fmt.Sprintf("unknown key (did you mean %q?)", key),
				}})
			})
		}
	}
}
