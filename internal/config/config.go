package config

import "time"

// PasswordEnv is the environment variable that holds the ClickHouse password
// when clickhouse.password_file is not set. There is deliberately no flag
// and no plain password key: both tend to end up in process listings,
// shell history or version control.
const PasswordEnv = "MLMON_CLICKHOUSE_PASSWORD"

// Config is a loaded, validated and fully resolved configuration.
type Config struct {
	ClickHouse ClickHouse `yaml:"clickhouse"`
	// Defaults are the settings models inherit: the built-in defaults
	// overridden by the file's defaults section. Each Model carries its own
	// resolved copy, so most callers only need Model.Settings.
	Defaults Settings `yaml:"defaults"`
	// Models is never empty and keeps the order of the file.
	Models []Model `yaml:"models"`
}

// ClickHouse describes how to reach ClickHouse over the native protocol.
type ClickHouse struct {
	// Addr lists host:port pairs; never empty.
	Addr     []string `yaml:"addr"`
	Database string   `yaml:"database"`
	Username string   `yaml:"username"`
	// PasswordFile is the resolved path the password was read from, or ""
	// if it came from the environment.
	PasswordFile string `yaml:"password_file"`
	// Password is read at load time from PasswordFile, or from the
	// PasswordEnv environment variable when no file is configured.
	Password           Secret        `yaml:"-"`
	TLS                TLS           `yaml:"tls"`
	DialTimeout        time.Duration `yaml:"dial_timeout"`
	QueryTimeout       time.Duration `yaml:"query_timeout"`
	MaxParallelQueries int           `yaml:"max_parallel_queries"`
}

// TLS configures TLS towards ClickHouse. File paths are resolved like
// password_file. Config builds the crypto/tls configuration.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Settings are the per-model knobs that the defaults section provides and
// each model may override.
type Settings struct {
	// Window is the length of the current window, which spans
	// [now - Delay - Window, now - Delay).
	Window time.Duration `yaml:"window"`
	// Delay shifts the window into the past so that late-arriving rows are
	// counted.
	Delay time.Duration `yaml:"delay"`
	// Bins is the number of reference quantile bins for numeric features.
	Bins int `yaml:"bins"`
	// MaxCategories is the number of most frequent reference categories of a
	// categorical feature that are tracked individually; the rest are
	// folded into "__other__".
	MaxCategories int `yaml:"max_categories"`
	// MinSamples is the number of rows below which quality and drift
	// metrics for a window are not emitted, because they would be noise.
	MinSamples int `yaml:"min_samples"`
	// MaxClasses bounds the number of class labels that get their own
	// per-class series; less frequent classes fold into "__other__".
	MaxClasses int `yaml:"max_classes"`
	// ExportBins exposes each drift bin's share of the window's values as
	// mlmon_feature_bin_ratio (README, "Distributions as metrics").
	ExportBins bool `yaml:"export_bins"`
	// ExportCategories names the top categories of categorical features in
	// the bin label; without it only "__other__" is exported, because the
	// category values would become label values.
	ExportCategories bool `yaml:"export_categories"`
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
	Name string `yaml:"name"`
	Task Task   `yaml:"task"`
	// PositiveClass is set for TaskBinary only.
	PositiveClass string `yaml:"positive_class"`
	// Settings are the defaults with this model's overrides applied; their
	// keys sit in the model's mapping, beside its own.
	Settings    Settings    `yaml:",inline"`
	Predictions Predictions `yaml:"predictions"`
	// GroundTruth is nil when the model has no ground truth, in which case
	// no performance metrics are computed.
	GroundTruth *GroundTruth `yaml:"ground_truth"`
	// Performance is always resolved (to the model's window and delay when
	// not configured) but only meaningful when GroundTruth is set.
	Performance Performance `yaml:"performance"`
	Features    []Feature   `yaml:"features"`
	// Reference is nil when no reference is configured.
	Reference *Reference `yaml:"reference"`
	// Thresholds maps known threshold names (see KnownThresholds) to their
	// values; never nil.
	Thresholds map[string]float64 `yaml:"thresholds"`
	// Sample is the share of predictions the heavy queries (drift and
	// performance) read, in (0, 1]; 1 reads every row.
	Sample float64 `yaml:"sample"`
	// Preaggregated is nil unless the current drift window is read from a
	// table of per-interval partial aggregates instead of the predictions.
	Preaggregated *Preaggregated `yaml:"preaggregated"`
	// Scores maps each class of a multiclass model to the predictions
	// column holding its probability (at least two classes, distinct
	// identifier columns); nil when not configured. ScoreClasses lists the
	// classes in their fixed order.
	Scores map[string]string `yaml:"scores"`
	// Segments are the columns whose values slice the model's traffic into
	// per-segment series (mlmon_segment_*); nil when none.
	Segments []Segment `yaml:"segments"`
}

// DefaultSegmentValues is a segment's max_values when not configured.
const DefaultSegmentValues = 10

// Segment is one column of the predictions table whose reference top
// values each get their own quality, volume and output-drift series; every
// other value, NULL included, is "__other__".
type Segment struct {
	// Name is the segment label value; defaults to Column.
	Name   string `yaml:"name"`
	Column string `yaml:"column"`
	// MaxValues is how many of the reference's most frequent values are
	// tracked, in [1, 100].
	MaxValues int `yaml:"max_values"`
	// FeatureDrift asks for per-segment feature drift: every feature's PSI
	// within each tracked value (mlmon_segment_feature_psi). Needs features.
	FeatureDrift bool `yaml:"feature_drift"`
}

// Preaggregated names an AggregatingMergeTree table that a materialized view
// fills with per-interval aggregate states of the model's columns (see
// deploy/clickhouse/preaggregate.sql). Its columns are fixed by that DDL;
// only the table and the interval are configurable.
type Preaggregated struct {
	Table string `yaml:"table"`
	// Interval is the length of the view's intervals, whole seconds; it is
	// the resolution of the current window's edges.
	Interval time.Duration `yaml:"interval"`
	// Operations reads the operations metrics (volume, freshness, latency,
	// errors) from the table too, so that a scrape reads no prediction row
	// outside the label join: the views must then list the timestamp, and
	// the latency and error columns when configured.
	Operations bool `yaml:"operations"`
}

// Predictions names the predictions table and its columns. Optional columns
// are "" when not configured. Table may be "db.table".
type Predictions struct {
	Table         string `yaml:"table"`
	Timestamp     string `yaml:"timestamp"`
	ID            string `yaml:"id"`
	ModelColumn   string `yaml:"model_column"` // rows are filtered by ModelColumn = Model.Name
	VersionColumn string `yaml:"version_column"`
	Prediction    string `yaml:"prediction"`
	Score         string `yaml:"score"` // binary classification only
	Latency       string `yaml:"latency"`
	Error         string `yaml:"error"`
}

// GroundTruth names the ground-truth table, joined to predictions on ID.
type GroundTruth struct {
	Table     string `yaml:"table"`
	ID        string `yaml:"id"`
	Label     string `yaml:"label"`
	Timestamp string `yaml:"timestamp"`
	// DistributedJoin forces how the performance join runs when a table is
	// Distributed; JoinAuto chooses from the tables' sharding keys.
	DistributedJoin string `yaml:"distributed_join"`
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
	Window time.Duration `yaml:"window"`
	Delay  time.Duration `yaml:"delay"`
}

// Feature is one monitored input column.
type Feature struct {
	// Name is the feature label value.
	Name string `yaml:"name"`
	// Column is the column holding the feature; defaults to Name.
	Column string      `yaml:"column"`
	Type   FeatureType `yaml:"type"`
}

// Reference is the baseline that drift is measured against. Which fields are
// set depends on Kind.
type Reference struct {
	// Kind follows from which keys are set; it is not a key itself.
	Kind ReferenceKind `yaml:"-"`
	// From and To bound a ReferenceFixed range, From < To.
	From time.Time `yaml:"from"`
	To   time.Time `yaml:"to"`
	// Offset is how far back a ReferenceRolling window is shifted; > 0.
	Offset time.Duration `yaml:"offset"`
	// Table is the ReferenceTable table; Prediction and Label optionally
	// name its prediction and label columns ("" when absent).
	Table      string `yaml:"table"`
	Prediction string `yaml:"prediction"`
	Label      string `yaml:"label"`
}
