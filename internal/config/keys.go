package config

import (
	"reflect"
	"strings"
)

// yamlKeys lists the keys that a mapping read into struct type t accepts,
// from the fields' yaml tags. The tag is the one place a key is declared:
// the walker's known keys, its suggestions and the schema tests all derive
// from it, so they cannot drift apart from the struct. A field tagged "-"
// holds something derived or read from elsewhere, not a key. The keys of
// a ",inline" field follow the struct's own keys: suggestions break ties
// by order, and a model's own keys have always come before the settings
// it shares with the defaults section.
func yamlKeys(t reflect.Type) []string {
	var own, inlined []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok || tag == "-" || !f.IsExported() {
			continue
		}
		if tag == ",inline" {
			inlined = append(inlined, yamlKeys(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		own = append(own, name)
	}
	return append(own, inlined...)
}

func keysOf[T any]() []string { return yamlKeys(reflect.TypeFor[T]()) }
