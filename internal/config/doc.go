// Package config loads and validates the mlmon configuration file.
//
// The file is YAML. Validation is strict: unknown keys, wrong types and
// out-of-range values are errors rather than warnings, because a typo in an
// exporter's configuration otherwise shows up much later as a metric that is
// silently missing, and an alert that can never fire. Every problem is
// reported at once, each with the key path and line it concerns, so that an
// operator can fix the whole file in one pass.
//
// The result is fully resolved: defaults are applied, per-model overrides are
// merged and relative file paths are made relative to the configuration
// file, so consumers never have to know which values were written and which
// were implied.
//
// A key is declared once, by the yaml tag of the field that holds it (see
// config.go): the keys each section accepts, and so the "unknown key (did
// you mean ...?)" suggestions, are read from the tags. The rest of the
// package is in two layers. The YAML walker (yamlwalk.go, yamlvalues.go,
// suggest.go) knows nodes, lines, key paths, merge keys and typed values,
// and nothing of mlmon. The schema (schema.go and one file per section:
// clickhouse.go, model.go, features.go, reference.go, thresholds.go)
// reads each key with the walker and holds what tags cannot say: defaults,
// ranges, and the rules between keys, such as task-dependent keys or
// exactly one kind of reference. The README's Configuration section and
// testdata/full.yml document every key.
//
// This package deliberately knows nothing about SQL. Table and column names
// are only checked to be plain identifiers (see ValidIdentifier and
// ValidTable); quoting them is the job of the query builder.
package config
