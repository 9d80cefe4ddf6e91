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
// This package deliberately knows nothing about SQL. Table and column names
// are only checked to be plain identifiers (see ValidIdentifier and
// ValidTable); quoting them is the job of the query builder.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// PasswordEnv is the environment variable that holds the ClickHouse password
// when clickhouse.password_file is not set. There is deliberately no flag
// and no plain password key: both tend to end up in process listings,
// shell history or version control.
const PasswordEnv = "MLMON_CLICKHOUSE_PASSWORD"

// maxFileSize bounds every file read on behalf of the configuration
// (password, CA bundle, client certificate and key). None of them is
// legitimately larger, and the bound keeps a mistaken path such as
// /dev/zero from exhausting memory.
const maxFileSize = 1 << 20

// Config is a loaded, validated and fully resolved configuration.
type Config struct {
	ClickHouse ClickHouse
	// Defaults are the settings models inherit: the built-in defaults
	// overridden by the file's defaults section. Each Model carries its own
	// resolved copy, so most callers only need Model.Settings.
	Defaults Settings
	// Models is never empty and keeps the order of the file.
	Models []Model
}

// ClickHouse describes how to reach ClickHouse over the native protocol.
type ClickHouse struct {
	// Addr lists host:port pairs; never empty.
	Addr     []string
	Database string
	Username string
	// PasswordFile is the resolved path the password was read from, or ""
	// if it came from the environment.
	PasswordFile string
	// Password is read at load time from PasswordFile, or from the
	// PasswordEnv environment variable when no file is configured.
	Password           Secret
	TLS                TLS
	DialTimeout        time.Duration
	QueryTimeout       time.Duration
	MaxParallelQueries int
}

// TLS configures TLS towards ClickHouse. File paths are resolved like
// password_file. Config builds the crypto/tls configuration.
type TLS struct {
	Enabled            bool
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}

// Settings are the per-model knobs that the defaults section provides and
// each model may override.
type Settings struct {
	// Window is the length of the current window, which spans
	// [now - Delay - Window, now - Delay).
	Window time.Duration
	// Delay shifts the window into the past so that late-arriving rows are
	// counted.
	Delay time.Duration
	// Bins is the number of reference quantile bins for numeric features.
	Bins int
	// MaxCategories is the number of most frequent reference categories of a
	// categorical feature that are tracked individually; the rest are
	// folded into "__other__".
	MaxCategories int
	// MinSamples is the number of rows below which quality and drift
	// metrics for a window are not emitted, because they would be noise.
	MinSamples int
	// MaxClasses bounds the number of class labels that get their own
	// per-class series; less frequent classes fold into "__other__".
	MaxClasses int
}

// DefaultSettings returns the built-in settings used for keys that neither
// the defaults section nor the model sets.
func DefaultSettings() Settings {
	return Settings{
		Window:        time.Hour,
		Delay:         0,
		Bins:          10,
		MaxCategories: 20,
		MinSamples:    100,
		MaxClasses:    50,
	}
}

// Built-in ClickHouse defaults.
const (
	DefaultDatabase           = "default"
	DefaultUsername           = "default"
	DefaultDialTimeout        = 5 * time.Second
	DefaultQueryTimeout       = 30 * time.Second
	DefaultMaxParallelQueries = 4
)

// Task is the kind of prediction a model makes; it decides which quality
// metrics apply.
type Task string

// Supported tasks.
const (
	TaskBinary     Task = "binary_classification"
	TaskMulticlass Task = "multiclass_classification"
	TaskRegression Task = "regression"
)

// FeatureType decides how a feature's distribution is summarised.
type FeatureType string

// Supported feature types.
const (
	FeatureNumeric     FeatureType = "numeric"
	FeatureCategorical FeatureType = "categorical"
)

// ReferenceKind says where a model's reference distribution comes from.
type ReferenceKind string

// Supported reference kinds.
const (
	// ReferenceFixed is a fixed time range [From, To) of the predictions
	// table.
	ReferenceFixed ReferenceKind = "fixed"
	// ReferenceRolling is the current window shifted back by Offset.
	ReferenceRolling ReferenceKind = "rolling"
	// ReferenceTable is a separate table, such as the training set, with
	// the same feature columns.
	ReferenceTable ReferenceKind = "table"
)

// Model is one monitored model with everything resolved.
type Model struct {
	// Name is the model label value and, with Predictions.ModelColumn, the
	// bound value selecting the model's rows. It is never part of SQL text.
	Name string
	Task Task
	// PositiveClass is set for TaskBinary only.
	PositiveClass string
	// Settings are the defaults with this model's overrides applied.
	Settings    Settings
	Predictions Predictions
	// GroundTruth is nil when the model has no ground truth, in which case
	// no performance metrics are computed.
	GroundTruth *GroundTruth
	// Performance is always resolved (to the model's window and delay when
	// not configured) but only meaningful when GroundTruth is set.
	Performance Performance
	Features    []Feature
	// Reference is nil when no reference is configured.
	Reference *Reference
	// Thresholds maps known threshold names (see KnownThresholds) to their
	// values; never nil.
	Thresholds map[string]float64
	// Sample is the share of predictions the heavy queries (drift and
	// performance) read, in (0, 1]; 1 reads every row.
	Sample float64
	// Preaggregated is nil unless the current drift window is read from a
	// table of per-interval partial aggregates instead of the predictions.
	Preaggregated *Preaggregated
}

// Preaggregated names an AggregatingMergeTree table that a materialized view
// fills with per-interval aggregate states of the model's columns (see
// deploy/clickhouse/preaggregate.sql). Its columns are fixed by that DDL;
// only the table and the interval are configurable.
type Preaggregated struct {
	Table string
	// Interval is the length of the view's intervals, whole seconds; it is
	// the resolution of the current window's edges.
	Interval time.Duration
}

// Predictions names the predictions table and its columns. Optional columns
// are "" when not configured. Table may be "db.table".
type Predictions struct {
	Table         string
	Timestamp     string
	ID            string
	ModelColumn   string // rows are filtered by ModelColumn = Model.Name
	VersionColumn string
	Prediction    string
	Score         string // binary classification only
	Latency       string
	Error         string
}

// GroundTruth names the ground-truth table, joined to predictions on ID.
type GroundTruth struct {
	Table     string
	ID        string
	Label     string
	Timestamp string
	// DistributedJoin forces how the performance join runs when a table is
	// Distributed; JoinAuto chooses from the tables' sharding keys.
	DistributedJoin string
}

// The values of ground_truth.distributed_join (see README, "Running on a
// ClickHouse cluster").
const (
	JoinAuto      = "auto"
	JoinLocal     = "local"     // co-located: each shard joins its own rows
	JoinGlobal    = "global"    // the window's labels shipped to every shard
	JoinInitiator = "initiator" // predictions and labels joined on the server queried
)

var joinStrategies = []string{JoinAuto, JoinLocal, JoinGlobal, JoinInitiator}

// Performance is the window over which quality metrics are computed; it is
// usually longer or later than the drift window because labels arrive late.
type Performance struct {
	Window time.Duration
	Delay  time.Duration
}

// Feature is one monitored input column.
type Feature struct {
	// Name is the feature label value.
	Name string
	// Column is the column holding the feature; defaults to Name.
	Column string
	Type   FeatureType
}

// Reference is the baseline that drift is measured against. Which fields are
// set depends on Kind.
type Reference struct {
	Kind ReferenceKind
	// From and To bound a ReferenceFixed range, From < To.
	From, To time.Time
	// Offset is how far back a ReferenceRolling window is shifted; > 0.
	Offset time.Duration
	// Table is the ReferenceTable table; Prediction and Label optionally
	// name its prediction and label columns ("" when absent).
	Table      string
	Prediction string
	Label      string
}

// KnownThresholds lists, sorted, the threshold names a model may set. Any
// other name is rejected so that a misspelt threshold cannot silently
// disable the alert that reads it.
var KnownThresholds = []string{
	"accuracy_drop_max",
	"accuracy_min",
	"drifted_features_min",
	"error_ratio_max",
	"f1_min",
	"js_max",
	"label_coverage_min",
	"label_psi_max",
	"label_staleness_max_seconds",
	"latency_p99_max_seconds",
	"missing_ratio_max",
	"out_of_range_ratio_max",
	"prediction_psi_max",
	"prediction_staleness_max_seconds",
	"psi_max",
	"unseen_category_ratio_max",
}

// knownThresholds is a private copy of KnownThresholds so that a caller
// modifying the exported slice cannot change what validation accepts.
var knownThresholds = slices.Clone(KnownThresholds)

// ratioThresholds are the thresholds that compare against a ratio in [0, 1].
// Values above 1 are rejected because they almost always mean a percentage
// was written where a fraction was expected, which would make the alert
// either always or never fire.
var ratioThresholds = map[string]bool{
	"accuracy_drop_max":         true,
	"accuracy_min":              true,
	"error_ratio_max":           true,
	"f1_min":                    true,
	"label_coverage_min":        true,
	"missing_ratio_max":         true,
	"out_of_range_ratio_max":    true,
	"unseen_category_ratio_max": true,
}

// ValidIdentifier reports whether s is a plain SQL identifier:
// [A-Za-z_][A-Za-z0-9_]*.
func ValidIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidTable reports whether s is a table name: an identifier, optionally
// qualified by a database identifier as "db.table".
func ValidTable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return ValidIdentifier(s[:i]) && ValidIdentifier(s[i+1:])
		}
	}
	return ValidIdentifier(s)
}

// Option adjusts how Load and Parse resolve things outside the file itself.
type Option func(*options)

type options struct {
	baseDir   string
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
}

// WithBaseDir makes relative paths in the file (password_file and the TLS
// files) relative to dir. Load uses the configuration file's directory;
// Parse by default leaves them relative to the working directory.
func WithBaseDir(dir string) Option {
	return func(o *options) { o.baseDir = dir }
}

// WithLookupEnv replaces os.LookupEnv for reading PasswordEnv, so that tests
// and embedders do not depend on the process environment.
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = lookup }
}

// withReadFile replaces file reading; the fuzz test uses it to keep
// generated paths from touching the file system.
func withReadFile(read func(string) ([]byte, error)) Option {
	return func(o *options) { o.readFile = read }
}

// Load reads, validates and resolves the configuration file at path.
// Relative paths inside the file are resolved against the file's directory
// unless a WithBaseDir option says otherwise. Validation problems are
// returned as an *Error wrapped with the path.
func Load(path string, opts ...Option) (*Config, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	opts = append([]Option{WithBaseDir(filepath.Dir(path))}, opts...)
	cfg, err := Parse(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return cfg, nil
}

// Parse validates and resolves a configuration held in memory. Relative
// paths inside it are resolved against the working directory unless a
// WithBaseDir option is given. Parse reads the password file and the TLS
// files, if configured, so that a broken deployment fails at start-up
// rather than at the first scrape. All problems found are returned together
// as an *Error.
func Parse(data []byte, opts ...Option) (*Config, error) {
	o := options{lookupEnv: os.LookupEnv, readFile: readLimited}
	for _, opt := range opts {
		opt(&o)
	}
	root, problems := parseYAML(data)
	if len(problems) > 0 {
		return nil, newError(problems)
	}
	w := &walker{opts: o, budget: mergeBudget}
	cfg := w.config(root)
	if len(w.problems) > 0 {
		return nil, newError(w.problems)
	}
	return cfg, nil
}

// resolvePath makes a relative path from the file relative to the base
// directory.
func (o options) resolvePath(p string) string {
	if p == "" || o.baseDir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(o.baseDir, p)
}

// readLimited reads a whole file of at most maxFileSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: %w", path, errTooLarge)
	}
	return data, nil
}

var errTooLarge = errors.New("file larger than 1 MiB")
