package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// noEnv is a lookup function for an empty environment, so that tests never
// depend on the real MLMON_CLICKHOUSE_PASSWORD.
func noEnv(string) (string, bool) { return "", false }

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// lineOf returns the 1-based line of doc containing marker, which must occur
// on exactly one line; a marker ending in a newline must end the line.
// Expected lines in tests are derived from the YAML itself this way, never
// copied from the output under test.
func lineOf(t *testing.T, doc, marker string) int {
	t.Helper()
	match := func(l string) bool { return strings.Contains(l, marker) }
	if m, ok := strings.CutSuffix(marker, "\n"); ok {
		match = func(l string) bool { return strings.HasSuffix(l, m) }
	}
	line := 0
	for i, l := range strings.Split(doc, "\n") {
		if match(l) {
			if line != 0 {
				t.Fatalf("marker %q occurs on lines %d and %d", marker, line, i+1)
			}
			line = i + 1
		}
	}
	if line == 0 {
		t.Fatalf("marker %q not found in:\n%s", marker, doc)
	}
	return line
}

func TestLoadFull(t *testing.T) {
	// The environment password must lose against password_file.
	cfg, err := Load("testdata/full.yml", WithLookupEnv(env(map[string]string{PasswordEnv: "from-env"})))
	if err != nil {
		t.Fatal(err)
	}

	day := 24 * time.Hour
	want := &Config{
		ClickHouse: ClickHouse{
			Addr:         []string{"clickhouse-1.internal:9440", "clickhouse-2.internal:9440"},
			Database:     "ml",
			Username:     "mlmon",
			PasswordFile: filepath.Join("testdata", "password"),
			Password:     "example-password",
			TLS: TLS{
				Enabled:    true,
				ServerName: "clickhouse.internal",
			},
			DialTimeout:        10 * time.Second,
			QueryTimeout:       20 * time.Second,
			MaxParallelQueries: 8,
		},
		Defaults: Settings{Window: 2 * time.Hour, Delay: 5 * time.Minute, Bins: 20, MaxCategories: 30, MinSamples: 500, MaxClasses: 40, ExportBins: true},
		Models: []Model{
			{
				Name:          "churn",
				Task:          TaskBinary,
				PositiveClass: "1",
				// Every setting overridden.
				Settings: Settings{Window: 30 * time.Minute, Delay: time.Minute, Bins: 10, MaxCategories: 25, MinSamples: 200, MaxClasses: 2, ExportCategories: true},
				Predictions: Predictions{
					Table: "ml.predictions", Timestamp: "ts", ID: "request_id",
					ModelColumn: "model", VersionColumn: "model_version",
					Prediction: "prediction", Score: "score", Latency: "latency_ms", Error: "is_error",
				},
				GroundTruth: &GroundTruth{Table: "ml.ground_truth", ID: "request_id", Label: "label", Timestamp: "ts", DistributedJoin: JoinLocal},
				Performance: Performance{Window: day, Delay: 6 * time.Hour},
				Features: []Feature{
					{Name: "age", Column: "age", Type: FeatureNumeric},
					{Name: "plan", Column: "plan", Type: FeatureCategorical},
					{Name: "tenure", Column: "tenure_days", Type: FeatureNumeric},
				},
				Reference: &Reference{
					Kind: ReferenceFixed,
					From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
					To:   time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC),
				},
				Thresholds: map[string]float64{
					"accuracy_drop_max":                0.05,
					"accuracy_min":                     0.8,
					"f1_min":                           0.6,
					"psi_max":                          0.2,
					"segment_accuracy_drop_max":        0.15,
					"js_max":                           0.1,
					"prediction_psi_max":               0.2,
					"label_psi_max":                    0.25,
					"drifted_features_min":             2,
					"label_coverage_min":               0.5,
					"missing_ratio_max":                0.01,
					"out_of_range_ratio_max":           0.02,
					"unseen_category_ratio_max":        0.05,
					"error_ratio_max":                  0.001,
					"latency_p99_max_seconds":          0.25,
					"prediction_staleness_max_seconds": 900,
					"label_staleness_max_seconds":      86400,
				},
				Sample: 0.25,
				Segments: []Segment{
					{Name: "country", Column: "country", MaxValues: 5},
					{Name: "app", Column: "app_version", MaxValues: DefaultSegmentValues, FeatureDrift: true},
				},
			},
			{
				Name: "intent",
				Task: TaskMulticlass,
				// Nothing overridden: the file's defaults.
				Settings:    Settings{Window: 2 * time.Hour, Delay: 5 * time.Minute, Bins: 20, MaxCategories: 30, MinSamples: 500, MaxClasses: 40, ExportBins: true},
				Predictions: Predictions{Table: "intent_predictions", Timestamp: "created_at", ID: "id", Prediction: "predicted_intent"},
				GroundTruth: &GroundTruth{Table: "intent_labels", ID: "id", Label: "intent", Timestamp: "labelled_at", DistributedJoin: JoinAuto},
				// Performance defaults to the model's window and delay.
				Performance: Performance{Window: 2 * time.Hour, Delay: 5 * time.Minute},
				Features:    []Feature{{Name: "channel", Column: "channel", Type: FeatureCategorical}},
				Reference:   &Reference{Kind: ReferenceRolling, Offset: 7 * day},
				Thresholds:  map[string]float64{},
				Sample:      1,
				Scores:      map[string]string{"billing": "p_billing", "cancel": "p_cancel", "support": "p_support"},
			},
			{
				Name: "price",
				Task: TaskRegression,
				// Only the window overridden.
				Settings:    Settings{Window: day, Delay: 5 * time.Minute, Bins: 20, MaxCategories: 30, MinSamples: 500, MaxClasses: 40, ExportBins: true},
				Predictions: Predictions{Table: "price_predictions", Timestamp: "ts", ID: "id", Prediction: "price"},
				Performance: Performance{Window: day, Delay: 5 * time.Minute},
				Features: []Feature{
					{Name: "sqft", Column: "sqft", Type: FeatureNumeric},
					{Name: "region", Column: "region", Type: FeatureCategorical},
				},
				Reference:     &Reference{Kind: ReferenceTable, Table: "training.price_train", Prediction: "predicted_price", Label: "sold_price"},
				Thresholds:    map[string]float64{},
				Sample:        1,
				Preaggregated: &Preaggregated{Table: "ml.mlmon_feature_aggregates", Interval: 5 * time.Minute, Operations: true},
			},
		},
	}

	if got, want := cfg.ClickHouse.Password.Reveal(), want.ClickHouse.Password.Reveal(); got != want {
		t.Errorf("password = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(cfg.ClickHouse, want.ClickHouse) {
		t.Errorf("clickhouse:\n got %+v\nwant %+v", cfg.ClickHouse, want.ClickHouse)
	}
	if cfg.Defaults != want.Defaults {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg.Defaults, want.Defaults)
	}
	if len(cfg.Models) != len(want.Models) {
		t.Fatalf("got %d models, want %d", len(cfg.Models), len(want.Models))
	}
	for i := range want.Models {
		t.Run(want.Models[i].Name, func(t *testing.T) {
			got, want := cfg.Models[i], want.Models[i]
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %s\nwant %s", dumpModel(got), dumpModel(want))
			}
		})
	}
}

func dumpModel(m Model) string {
	return fmt.Sprintf("%+v GroundTruth=%+v Reference=%+v Preaggregated=%+v", m, m.GroundTruth, m.Reference, m.Preaggregated)
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Load("testdata/minimal.yml", WithLookupEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	ch := cfg.ClickHouse
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"database", ch.Database, "default"},
		{"username", ch.Username, "default"},
		{"password", ch.Password.Reveal(), ""},
		{"tls", ch.TLS, TLS{}},
		{"dial_timeout", ch.DialTimeout, 5 * time.Second},
		{"query_timeout", ch.QueryTimeout, 30 * time.Second},
		{"max_parallel_queries", ch.MaxParallelQueries, 4},
		{"defaults", cfg.Defaults, Settings{Window: time.Hour, Delay: 0, Bins: 10, MaxCategories: 20, MinSamples: 100, MaxClasses: 50}},
		{"model settings", cfg.Models[0].Settings, DefaultSettings()},
		{"performance", cfg.Models[0].Performance, Performance{Window: time.Hour}},
		{"ground_truth", cfg.Models[0].GroundTruth, (*GroundTruth)(nil)},
		{"reference", cfg.Models[0].Reference, (*Reference)(nil)},
		{"features", cfg.Models[0].Features, []Feature(nil)},
		{"thresholds", cfg.Models[0].Thresholds, map[string]float64{}},
		{"optional columns", cfg.Models[0].Predictions, Predictions{Table: "predictions", Timestamp: "ts", ID: "request_id", Prediction: "prediction"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestSettingsOverrides(t *testing.T) {
	doc := `
clickhouse: {addr: ["h:9000"]}
defaults:
  window: 2h
  bins: 5
models:
  - name: inherits
    task: regression
    predictions: {table: p, timestamp: ts, id: id, prediction: y}
  - name: overrides
    task: regression
    delay: 10m
    bins: 7
    max_classes: 3
    predictions: {table: p, timestamp: ts, id: id, prediction: y}
    ground_truth: {table: g, id: id, label: y, timestamp: ts}
    performance: {delay: 1h}
`
	cfg, err := Parse([]byte(doc), WithLookupEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		settings    Settings
		performance Performance
	}{
		{
			Settings{Window: 2 * time.Hour, Delay: 0, Bins: 5, MaxCategories: 20, MinSamples: 100, MaxClasses: 50},
			Performance{Window: 2 * time.Hour, Delay: 0},
		},
		{
			Settings{Window: 2 * time.Hour, Delay: 10 * time.Minute, Bins: 7, MaxCategories: 20, MinSamples: 100, MaxClasses: 3},
			// The window comes from the model, the delay from performance.
			Performance{Window: 2 * time.Hour, Delay: time.Hour},
		},
	}
	for i, w := range want {
		t.Run(cfg.Models[i].Name, func(t *testing.T) {
			if got := cfg.Models[i].Settings; got != w.settings {
				t.Errorf("settings = %+v, want %+v", got, w.settings)
			}
			if got := cfg.Models[i].Performance; got != w.performance {
				t.Errorf("performance = %+v, want %+v", got, w.performance)
			}
		})
	}
}

// expect is one problem a test expects: on the line containing marker, at
// path, with a message containing msg.
type expect struct {
	marker, path, msg string
}

// checkProblems asserts that err is an *Error holding exactly the expected
// problems, and that Error() prints each as "line N: path: msg".
func checkProblems(t *testing.T, doc string, err error, want []expect) {
	t.Helper()
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("got error %v (%T), want *Error", err, err)
	}
	text := err.Error()
	remaining := slices.Clone(cerr.Problems)
	for _, w := range want {
		line := 1
		if w.marker != "" {
			line = lineOf(t, doc, w.marker)
		}
		msg := expandLines(t, doc, w.msg)
		i := slices.IndexFunc(remaining, func(p Problem) bool {
			return p.Line == line && p.Path == w.path && strings.Contains(p.Msg, msg)
		})
		if i < 0 {
			t.Errorf("missing problem: line %d: %s: ...%s...\ngot:\n%s", line, w.path, msg, text)
			continue
		}
		if prefix := fmt.Sprintf("line %d: %s: ", line, w.path); w.path != "" && !strings.Contains(text, prefix) {
			t.Errorf("Error() lacks %q:\n%s", prefix, text)
		}
		remaining = slices.Delete(remaining, i, i+1)
	}
	for _, p := range remaining {
		t.Errorf("unexpected problem: %s", p)
	}
	if !slices.IsSortedFunc(cerr.Problems, func(a, b Problem) int { return a.Line - b.Line }) {
		t.Errorf("problems not sorted by line:\n%s", text)
	}
	if n := strings.Count(text, "\n") + 1; n != len(cerr.Problems) {
		t.Errorf("Error() has %d lines for %d problems:\n%s", n, len(cerr.Problems), text)
	}
}

// expandLines replaces each {line:MARKER} in msg by lineOf(MARKER), for
// messages that refer to another line.
func expandLines(t *testing.T, doc, msg string) string {
	t.Helper()
	for {
		i := strings.Index(msg, "{line:")
		if i < 0 {
			return msg
		}
		j := strings.Index(msg[i:], "})")
		if j < 0 {
			t.Fatalf("unterminated {line:...} in %q", msg)
		}
		marker := msg[i+len("{line:") : i+j]
		msg = msg[:i] + fmt.Sprint(lineOf(t, doc, marker)) + msg[i+j+1:]
	}
}

// head is a valid clickhouse section followed by the models key; test
// documents append model items to it.
const head = `clickhouse:
  addr: ["localhost:9000"]
models:
`

// preds is a valid predictions section for a model item.
const preds = `    predictions: {table: p, timestamp: ts, id: id, prediction: y}
`

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []expect
	}{
		{
			name: "unknown key at top level",
			doc: head + `  - name: m
    task: regression
` + preds + `metrics: {}
`,
			want: []expect{{"metrics:", "metrics", "unknown key"}},
		},
		{
			name: "unknown key nested, with suggestion",
			doc: head + `  - name: m
    task: regression
    predictions:
      tabel: p
      timestamp: ts
      id: id
      prediction: y
`,
			want: []expect{
				{"tabel:", "models[0].predictions.tabel", `unknown key (did you mean "table"?)`},
				{"predictions:", "models[0].predictions.table", "required key missing"},
			},
		},
		{
			name: "sample outside (0, 1]",
			doc: head + `  - name: m
    task: regression
` + preds + `    sample: 1.5
  - name: n
    task: regression
` + preds + `    sample: 0
`,
			want: []expect{
				{"sample: 1.5", "models[0].sample", "must be a ratio in (0, 1], got 1.5"},
				{"sample: 0", "models[1].sample", "must be a ratio in (0, 1], got 0"},
			},
		},
		{
			name: "unknown key inside a list item",
			doc: head + `  - name: m
    task: regression
` + preds + `    features:
      - name: age
        type: numeric
      - name: plan
        colum: plan_id
        type: categorical
`,
			want: []expect{{"colum:", "models[0].features[1].colum", `unknown key (did you mean "column"?)`}},
		},
		{
			name: "unknown key in clickhouse.tls",
			doc: `clickhouse:
  addr: ["localhost:9000"]
  tls: {enabled: true, ca: /x}
models:
  - name: m
    task: regression
` + preds,
			want: []expect{{"tls:", "clickhouse.tls.ca", "unknown key"}},
		},
		{
			name: "duplicate key",
			doc: head + `  - name: m
    task: regression
    task: binary_classification
` + preds,
			want: []expect{{"task: binary", "models[0].task", "duplicate key (first at line"}},
		},
		{
			name: "integer given as text",
			doc: head + `  - name: m
    task: regression
` + preds + `defaults:
  bins: ten
`,
			want: []expect{{"bins: ten", "defaults.bins", `must be an integer, got "ten"`}},
		},
		{
			name: "settings out of range",
			doc: `clickhouse:
  addr: ["localhost:9000"]
  max_parallel_queries: 65
defaults:
  bins: 1
  max_categories: 0
  min_samples: 0
  max_classes: 1001
models:
  - name: m
    task: regression
    bins: 101
    max_classes: 1
` + preds,
			want: []expect{
				{"max_parallel_queries", "clickhouse.max_parallel_queries", "must be between 1 and 64, got 65"},
				{"bins: 1\n", "defaults.bins", "must be between 2 and 100, got 1"},
				{"max_categories", "defaults.max_categories", "must be between 1 and 1000, got 0"},
				{"min_samples", "defaults.min_samples", "must be at least 1, got 0"},
				{"max_classes: 1001", "defaults.max_classes", "must be between 2 and 1000, got 1001"},
				{"bins: 101", "models[0].bins", "must be between 2 and 100, got 101"},
				{"max_classes: 1\n", "models[0].max_classes", "must be between 2 and 1000, got 1"},
			},
		},
		{
			name: "durations",
			doc: `clickhouse:
  addr: ["localhost:9000"]
  dial_timeout: 0s
  query_timeout: 30
defaults:
  window: 0
  delay: -5m
models:
  - name: m
    task: regression
    window: soon
` + preds,
			want: []expect{
				{"dial_timeout", "clickhouse.dial_timeout", "must be greater than 0"},
				{"query_timeout", "clickhouse.query_timeout", `must be a duration such as 30s, 5m, 1h or 1d, got "30"`},
				{"window: 0", "defaults.window", "must be greater than 0"},
				{"delay: -5m", "defaults.delay", `got "-5m"`},
				{"window: soon", "models[0].window", `got "soon"`},
			},
		},
		{
			name: "clickhouse section missing",
			doc: `models:
  - name: m
    task: regression
` + preds,
			want: []expect{{"models:", "clickhouse", "required key missing"}},
		},
		{
			name: "addr missing",
			doc: `clickhouse:
  database: default
models:
  - name: m
    task: regression
` + preds,
			want: []expect{{"clickhouse:", "clickhouse.addr", "required key missing"}},
		},
		{
			name: "addr empty",
			doc: `clickhouse:
  addr: []
models:
  - name: m
    task: regression
` + preds,
			want: []expect{{"addr:", "clickhouse.addr", "at least one address is required"}},
		},
		{
			name: "addr not a list, bad entries",
			doc: `clickhouse:
  addr: localhost:9000
models:
  - name: m
    task: regression
` + preds,
			want: []expect{{"addr:", "clickhouse.addr", `must be a list, got "localhost:9000"`}},
		},
		{
			name: "addr entries invalid",
			doc: `clickhouse:
  addr:
    - localhost
    - "localhost:http"
    - {host: x}
models:
  - name: m
    task: regression
` + preds,
			want: []expect{
				{"- localhost\n", "clickhouse.addr[0]", `must be host:port, got "localhost"`},
				{"localhost:http", "clickhouse.addr[1]", `invalid port in "localhost:http"`},
				{"{host: x}", "clickhouse.addr[2]", "must be a string, got a mapping"},
			},
		},
		{
			name: "database and username",
			doc: `clickhouse:
  addr: ["localhost:9000"]
  database: ml-prod
  username: ""
models:
  - name: m
    task: regression
` + preds,
			want: []expect{
				{"database:", "clickhouse.database", `invalid identifier "ml-prod"`},
				{"username:", "clickhouse.username", "must not be empty"},
			},
		},
		{
			name: "tls types and disabled settings",
			doc: `clickhouse:
  addr: ["localhost:9000"]
  tls:
    enabled: yes
    server_name: ch.internal
    insecure_skip_verify: true
models:
  - name: m
    task: regression
` + preds,
			want: []expect{
				{"enabled: yes", "clickhouse.tls.enabled", `must be true or false, got "yes"`},
				{"server_name:", "clickhouse.tls.server_name", "set, but clickhouse.tls.enabled is not true"},
				{"insecure_skip_verify:", "clickhouse.tls.insecure_skip_verify", "set, but clickhouse.tls.enabled is not true"},
			},
		},
		{
			name: "tls cert without key",
			doc: `clickhouse:
  addr: ["localhost:9000"]
  tls:
    enabled: true
    cert_file: /etc/mlmon/client.pem
models:
  - name: m
    task: regression
` + preds,
			want: []expect{{"cert_file:", "clickhouse.tls.key_file", "required when cert_file is set"}},
		},
		{
			name: "models missing",
			doc: `clickhouse:
  addr: ["localhost:9000"]
`,
			want: []expect{{"clickhouse:", "models", "no models configured"}},
		},
		{
			name: "models empty",
			doc: `clickhouse:
  addr: ["localhost:9000"]
models: []
`,
			want: []expect{{"models: []", "models", "no models configured"}},
		},
		{
			name: "models not a list",
			doc: `clickhouse:
  addr: ["localhost:9000"]
models:
  churn: {task: regression}
`,
			want: []expect{{"churn:", "models", "must be a list, got a mapping"}},
		},
		{
			name: "model item not a mapping",
			doc: head + `  - churn
  -
`,
			want: []expect{
				{"- churn", "models[0]", `must be a mapping, got "churn"`},
				{"  -\n", "models[1]", "must be a mapping, got null"},
			},
		},
		{
			name: "model name and task missing",
			doc: head + `  - predictions: {table: p, timestamp: ts, id: id, prediction: y}
`,
			want: []expect{
				{"- predictions", "models[0].name", "required key missing"},
				{"- predictions", "models[0].task", "required key missing"},
			},
		},
		{
			name: "model name empty, too long, duplicate",
			doc: head + `  - name: ""
    task: regression
` + preds + `  - name: ` + strings.Repeat("x", 201) + `
    task: regression
` + preds + `  - name: "churn model"
    task: regression
` + preds + `  - name: churn model
    task: regression
` + preds,
			want: []expect{
				{`name: ""`, "models[0].name", "must not be empty"},
				{"name: xxx", "models[1].name", "must be at most 200 characters, got 201"},
				{"name: churn model", "models[3].name", `duplicate model name "churn model" (first at line {line:"churn model"})`},
			},
		},
		{
			name: "distributed_join invalid",
			doc: head + `  - name: m
    task: regression
` + preds + `    ground_truth: {table: g, id: id, label: y, timestamp: ts, distributed_join: globl}
`,
			want: []expect{{"globl", "models[0].ground_truth.distributed_join", `must be one of auto, local, global, initiator, got "globl" (did you mean "global"?)`}},
		},
		{
			name: "task invalid",
			doc: head + `  - name: m
    task: classification
    positive_class: "1"
` + preds,
			want: []expect{{"task:", "models[0].task", `must be one of binary_classification, multiclass_classification or regression, got "classification"`}},
		},
		{
			name: "positive_class required for binary",
			doc: head + `  - name: m
    task: binary_classification
` + preds,
			want: []expect{{"- name: m", "models[0].positive_class", "required when task is binary_classification"}},
		},
		{
			name: "positive_class and score rejected for others",
			doc: head + `  - name: m
    task: multiclass_classification
    positive_class: cat
    predictions:
      table: p
      timestamp: ts
      id: id
      prediction: y
      score: s
`,
			want: []expect{
				{"positive_class:", "models[0].positive_class", "only allowed when task is binary_classification"},
				{"score:", "models[0].predictions.score", "only allowed when task is binary_classification"},
			},
		},
		{
			name: "scores",
			doc: head + `  - name: m
    task: multiclass_classification
` + preds + `    scores:
      buy: p_buy
      browse: "p browse"
      "": p_none
      leave: p_buy
      stay: null
      buy: p_buy2
  - name: n
    task: binary_classification
    positive_class: "1"
` + preds + `    scores: {a: p_a, b: p_b}
  - name: o
    task: multiclass_classification
` + preds + `    scores: {a: p_a}
`,
			want: []expect{
				{`browse: "p browse"`, "models[0].scores.browse", `invalid identifier "p browse"`},
				{`"": p_none`, "models[0].scores.", "class must not be empty"},
				{"leave: p_buy", "models[0].scores.leave", `column "p_buy" is already the score of another class`},
				{"stay: null", "models[0].scores.stay", "must name the class's probability column, got null"},
				{"buy: p_buy2", "models[0].scores.buy", "duplicate key"},
				{"scores: {a: p_a, b: p_b}", "models[1].scores", "only allowed when task is multiclass_classification"},
				{"scores: {a: p_a}", "models[2].scores", "must map at least two classes"},
			},
		},
		{
			name: "predictions missing",
			doc: head + `  - name: m
    task: regression
`,
			want: []expect{{"- name: m", "models[0].predictions", "required key missing"}},
		},
		{
			name: "identifiers",
			doc: head + `  - name: m
    task: regression
    predictions:
      table: a.b.c
      timestamp: 1ts
      id: "id "
      prediction: y
      latency: ""
` + `    features:
      - {name: age, column: "age; DROP TABLE x", type: numeric}
      - {name: "plan type", type: categorical}
      - {name: "plan type (display)", column: plan_type, type: categorical}
`,
			want: []expect{
				{"table: a.b.c", "models[0].predictions.table", `invalid identifier "a.b.c"`},
				{"timestamp: 1ts", "models[0].predictions.timestamp", `invalid identifier "1ts"`},
				{`id: "id "`, "models[0].predictions.id", `invalid identifier "id "`},
				{"latency:", "models[0].predictions.latency", `invalid identifier ""`},
				{"DROP TABLE", "models[0].features[0].column", `invalid identifier "age; DROP TABLE x"`},
				{`"plan type",`, "models[0].features[1].name", `invalid identifier "plan type"`},
			},
		},
		{
			name: "ground_truth incomplete",
			doc: head + `  - name: m
    task: regression
` + preds + `    ground_truth:
      table: db.gt
      id: id
      timestamp: ts
`,
			want: []expect{{"ground_truth:", "models[0].ground_truth.label", "required key missing"}},
		},
		{
			name: "performance without ground_truth, zero window",
			doc: head + `  - name: m
    task: regression
` + preds + `    performance:
      window: 0s
`,
			want: []expect{
				{"performance:", "models[0].performance", "requires ground_truth"},
				{"window: 0s", "models[0].performance.window", "must be greater than 0"},
			},
		},
		{
			name: "features",
			doc: head + `  - name: m
    task: regression
` + preds + `    features:
      - {name: age, type: numeric}
      - {name: age, column: age2, type: numeric}
      - {name: plan, type: text}
      - {column: x, type: numeric}
      - {name: y}
      -
`,
			want: []expect{
				{"age2", "models[0].features[1].name", `duplicate feature name "age" (first at line {line:{name: age, type})`},
				{"type: text", "models[0].features[2].type", `must be numeric or categorical, got "text"`},
				{"{column: x", "models[0].features[3].name", "required key missing"},
				{"{name: y}", "models[0].features[4].type", "required key missing"},
				{"      -\n", "models[0].features[5]", "must be a mapping, got null"},
			},
		},
		{
			name: "segments",
			doc: head + `  - name: m
    task: regression
` + preds + `    reference: {offset: 1h}
    segments:
      - {column: country}
      - {name: country, column: region}
      - {column: "app-version"}
      - {column: os, max_values: 0}
      - {column: plan, feature_drift: true}
      - {column: tier, colour: red}
      - {name: x}
      -
`,
			want: []expect{
				{"{name: country, column: region}", "models[0].segments[1].name", `duplicate segment name "country" (first at line {line:{column: country}})`},
				{"app-version", "models[0].segments[2].column", `invalid identifier "app-version"`},
				{"max_values: 0", "models[0].segments[3].max_values", "must be between 1 and 100, got 0"},
				{"feature_drift: true", "models[0].segments[4].feature_drift", "needs features: the model has none"},
				{"colour: red", "models[0].segments[5].colour", "unknown key"},
				{"{name: x}", "models[0].segments[6].column", "required key missing"},
				{"      -\n", "models[0].segments[7]", "must be a mapping, got null"},
			},
		},
		{
			name: "segment feature_drift not a boolean",
			doc: head + `  - name: m
    task: regression
` + preds + `    features: [{name: age, type: numeric}]
    reference: {offset: 1h}
    segments:
      - {column: country, feature_drift: true}
      - {column: plan, feature_drift: yes please}
`,
			want: []expect{
				{"feature_drift: yes please", "models[0].segments[1].feature_drift", `must be true or false, got "yes please"`},
			},
		},
		{
			name: "segments without reference, with preaggregated",
			doc: head + `  - name: m
    task: regression
` + preds + `    preaggregated: {table: agg, interval: 1m}
    segments: [{column: country}]
`,
			want: []expect{
				{"segments:", "models[0].segments", "requires reference"},
				{"segments:", "models[0].segments", "cannot be combined with preaggregated"},
			},
		},
		{
			name: "features not a list",
			doc: head + `  - name: m
    task: regression
` + preds + `    features: {age: numeric}
`,
			want: []expect{{"features:", "models[0].features", "must be a list, got a mapping"}},
		},
		{
			name: "feature named like the output",
			doc: head + `  - name: m
    task: regression
` + preds + `    features:
      - {name: __prediction__, column: p, type: numeric}
`,
			want: []expect{{"{name: __prediction__", "models[0].features[0].name", `"__prediction__" is reserved for the model output`}},
		},
		{
			name: "reference empty",
			doc: head + `  - name: m
    task: regression
` + preds + `    reference: {}
`,
			want: []expect{{"reference:", "models[0].reference", "must set exactly one of from/to, offset or table"}},
		},
		{
			name: "reference with two kinds",
			doc: head + `  - name: m
    task: regression
` + preds + `    reference:
      offset: 1w
      table: train
`,
			want: []expect{{"reference:", "models[0].reference", "got offset and table"}},
		},
		{
			name: "reference from without to",
			doc: head + `  - name: m
    task: regression
` + preds + `    reference:
      from: 2026-01-01T00:00:00Z
`,
			want: []expect{{"from:", "models[0].reference.to", "required when from is set"}},
		},
		{
			name: "reference from not before to",
			doc: head + `  - name: m
    task: regression
` + preds + `    reference:
      from: 2026-01-08T00:00:00Z
      to: 2026-01-01T00:00:00Z
`,
			want: []expect{{"to: 2026", "models[0].reference.to", "must be after from (2026-01-08T00:00:00Z)"}},
		},
		{
			name: "reference bad timestamp",
			doc: head + `  - name: m
    task: regression
` + preds + `    reference:
      from: 2026-01-01
      to: 2026-01-08T00:00:00Z
`,
			want: []expect{{"from:", "models[0].reference.from", `must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z, got "2026-01-01"`}},
		},
		{
			name: "reference zero offset, columns without table",
			doc: head + `  - name: m
    task: regression
` + preds + `    reference:
      offset: 0s
      prediction: yhat
      label: y
`,
			want: []expect{
				{"offset:", "models[0].reference.offset", "must be greater than 0"},
				{"prediction: yhat", "models[0].reference.prediction", "only allowed with models[0].reference.table"},
				{"label: y", "models[0].reference.label", "only allowed with models[0].reference.table"},
			},
		},
		{
			name: "thresholds",
			doc: head + `  - name: m
    task: regression
` + preds + `    thresholds:
      psi_mx: 0.2
      latency_p99_max: 1
      js_max: -0.1
      accuracy_min: .nan
      latency_p99_max_seconds: .inf
      error_ratio_max: 5
      label_coverage_min: high
      psi_max: 0.2
`,
			want: []expect{
				{"psi_mx", "models[0].thresholds.psi_mx", `unknown threshold (did you mean "psi_max"?)`},
				{"latency_p99_max:", "models[0].thresholds.latency_p99_max", "unknown threshold"},
				{"js_max", "models[0].thresholds.js_max", "must not be negative, got -0.1"},
				{"accuracy_min", "models[0].thresholds.accuracy_min", "must be a finite number"},
				{"latency_p99_max_seconds", "models[0].thresholds.latency_p99_max_seconds", "must be a finite number"},
				{"error_ratio_max", "models[0].thresholds.error_ratio_max", "must be at most 1, got 5"},
				{"label_coverage_min", "models[0].thresholds.label_coverage_min", `must be a number, got "high"`},
			},
		},
		{
			name: "wrong section types",
			doc: `clickhouse: localhost
defaults: [1h]
models:
  - name: m
    task: regression
    predictions: p
    ground_truth: [g]
    thresholds: 0.2
`,
			want: []expect{
				{"clickhouse:", "clickhouse", `must be a mapping, got "localhost"`},
				{"defaults:", "defaults", "must be a mapping, got a list"},
				{"predictions:", "models[0].predictions", `must be a mapping, got "p"`},
				{"ground_truth:", "models[0].ground_truth", "must be a mapping, got a list"},
				{"thresholds:", "models[0].thresholds", `must be a mapping, got "0.2"`},
			},
		},
		{
			name: "empty file",
			doc:  ``,
			want: []expect{
				{"", "clickhouse", "required key missing"},
				{"", "models", "no models configured"},
			},
		},
		{
			name: "whitespace and comments only",
			doc:  "\n   \n# nothing here\n\n",
			want: []expect{
				{"", "clickhouse", "required key missing"},
				{"", "models", "no models configured"},
			},
		},
		{
			name: "not a mapping",
			doc:  "- a\n- b\n",
			want: []expect{{"- a", "", "the configuration must be a mapping"}},
		},
		{
			name: "multiple documents",
			doc: head + `  - name: m
    task: regression
` + preds + `---
clickhouse: {}
`,
			want: []expect{{"---", "", "multiple YAML documents are not supported"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.doc), WithLookupEnv(noEnv))
			if err == nil {
				t.Fatalf("no error; got %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("got a config along with the error")
			}
			checkProblems(t, tc.doc, err, tc.want)
		})
	}
}

func TestYAMLSyntaxError(t *testing.T) {
	doc := head + `  - name: m
    task: regression
   bad indentation: here
`
	_, err := Parse([]byte(doc), WithLookupEnv(noEnv))
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("got error %v (%T), want *Error", err, err)
	}
	if len(cerr.Problems) != 1 {
		t.Fatalf("got %d problems, want 1:\n%v", len(cerr.Problems), err)
	}
	// yaml.v3 reports the line where the enclosing construct starts, which
	// may precede the offending line, and never follows it.
	p := cerr.Problems[0]
	if bad := lineOf(t, doc, "bad indentation"); p.Line < 1 || p.Line > bad {
		t.Errorf("line = %d, want 1..%d", p.Line, bad)
	}
	if !strings.HasPrefix(p.Msg, "invalid YAML: ") || p.Path != "" {
		t.Errorf("problem = %+v, want an invalid YAML message without a path", p)
	}
}

func TestMultipleProblemsReportedTogether(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid.yml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	_, err = Load("testdata/invalid.yml", WithLookupEnv(noEnv))
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.HasPrefix(err.Error(), "config file testdata/invalid.yml: ") {
		t.Errorf("error does not start with the file name: %v", err)
	}
	checkProblems(t, doc, err, []expect{
		{"addr: []", "clickhouse.addr", "at least one address is required"},
		{"max_parallel_queries", "clickhouse.max_parallel_queries", "must be between 1 and 64, got 0"},
		{"bins: ten", "defaults.bins", `must be an integer, got "ten"`},
		{"task: binary", "models[0].task", `got "binary"`},
		{"predictions:", "models[0].predictions.table", "required key missing"},
		{"tabel:", "models[0].predictions.tabel", "unknown key"},
		{"DROP TABLE", "models[0].features[0].column", `invalid identifier "age; DROP TABLE x"`},
		{"psi_mx", "models[0].thresholds.psi_mx", "unknown threshold"},
	})
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yml")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name %s", err, path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap os.ErrNotExist", err)
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	doc := `clickhouse: {addr: ["h:9000"]}
models:
  - name: a
    task: regression
    predictions: &preds {table: p, timestamp: ts, id: id, prediction: y}
  - name: b
    task: regression
    predictions: *preds
  - name: c
    task: regression
    predictions:
      <<: *preds
      table: other
`
	cfg, err := Parse([]byte(doc), WithLookupEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	want := []Predictions{
		{Table: "p", Timestamp: "ts", ID: "id", Prediction: "y"},
		{Table: "p", Timestamp: "ts", ID: "id", Prediction: "y"},
		{Table: "other", Timestamp: "ts", ID: "id", Prediction: "y"},
	}
	for i, w := range want {
		if got := cfg.Models[i].Predictions; got != w {
			t.Errorf("models[%d].predictions = %+v, want %+v", i, got, w)
		}
	}
}

func TestMergeKeyCycleAndBlowUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
	}{
		{"self merge", "clickhouse: &a {<<: *a}\n"},
		{"exponential", func() string {
			var b strings.Builder
			b.WriteString("a0: &a0 {k: v}\n")
			for i := 1; i < 40; i++ {
				fmt.Fprintf(&b, "a%d: &a%d {<<: [*a%d, *a%d, *a%d, *a%d]}\n", i, i, i-1, i-1, i-1, i-1)
			}
			b.WriteString("clickhouse: {<<: *a39}\n")
			return b.String()
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := Parse([]byte(tc.doc), WithLookupEnv(noEnv))
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("no error")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Parse did not return")
			}
		})
	}
}

func TestPassword(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lf := write("lf", "s3cret\n")
	crlf := write("crlf", "s3cret\r\n")
	write("relative", "rel-secret\n")
	write("inner-space", " pass word \n")

	doc := func(passwordFile string) string {
		return fmt.Sprintf(`clickhouse:
  addr: ["localhost:9000"]
  password_file: %q
models:
  - name: m
    task: regression
`+preds, passwordFile)
	}
	withEnv := env(map[string]string{PasswordEnv: "from-env"})

	for _, tc := range []struct {
		name     string
		file     string
		opts     []Option
		want     string
		wantFile string
	}{
		{"file, newline trimmed", lf, []Option{WithLookupEnv(noEnv)}, "s3cret", lf},
		{"file, CRLF trimmed", crlf, []Option{WithLookupEnv(noEnv)}, "s3cret", crlf},
		{"other whitespace kept", filepath.Join(dir, "inner-space"), []Option{WithLookupEnv(noEnv)}, " pass word ", filepath.Join(dir, "inner-space")},
		{"relative to base dir", "relative", []Option{WithLookupEnv(noEnv), WithBaseDir(dir)}, "rel-secret", filepath.Join(dir, "relative")},
		{"from env", "", []Option{WithLookupEnv(withEnv)}, "from-env", ""},
		{"file wins over env", lf, []Option{WithLookupEnv(withEnv)}, "s3cret", lf},
		{"neither", "", []Option{WithLookupEnv(noEnv)}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(doc(tc.file)), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.ClickHouse.Password.Reveal(); got != tc.want {
				t.Errorf("password = %q, want %q", got, tc.want)
			}
			if got := cfg.ClickHouse.PasswordFile; got != tc.wantFile {
				t.Errorf("password file = %q, want %q", got, tc.wantFile)
			}
		})
	}

	t.Run("Load resolves relative to the config file", func(t *testing.T) {
		cfgPath := write("mlmon.yml", doc("relative"))
		cfg, err := Load(cfgPath, WithLookupEnv(noEnv))
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.ClickHouse.Password.Reveal(); got != "rel-secret" {
			t.Errorf("password = %q, want %q", got, "rel-secret")
		}
	})
}

func TestPasswordFileErrorsDoNotLeak(t *testing.T) {
	dir := t.TempDir()
	const secret = "hunter2-very-secret"

	tooLarge := filepath.Join(dir, "large")
	if err := os.WriteFile(tooLarge, []byte(secret+strings.Repeat("x", maxFileSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "unreadable")
	if err := os.WriteFile(unreadable, []byte(secret+"\n"), 0o000); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		file string
		skip bool
	}{
		// The environment holds the secret too: a failed file must not fall
		// back to it, and must not mention it.
		{"missing", filepath.Join(dir, "missing"), false},
		{"directory", dir, false},
		{"too large", tooLarge, false},
		// Root reads files regardless of permissions.
		{"permission denied", unreadable, os.Geteuid() == 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip {
				t.Skip("running as root")
			}
			doc := fmt.Sprintf(`clickhouse:
  addr: ["localhost:9000"]
  password_file: %q
models:
  - name: m
    task: regression
`+preds, tc.file)
			_, err := Parse([]byte(doc), WithLookupEnv(env(map[string]string{PasswordEnv: secret})))
			if err == nil {
				t.Fatal("no error")
			}
			checkProblems(t, doc, err, []expect{{"password_file:", "clickhouse.password_file", "cannot read password file"}})
			if msg := err.Error(); strings.Contains(msg, secret) {
				t.Errorf("error leaks the secret: %s", msg)
			} else if !strings.Contains(msg, tc.file) {
				t.Errorf("error does not name the file %s: %s", tc.file, msg)
			}
		})
	}
}

func TestValidIdentifier(t *testing.T) {
	for _, tc := range []struct {
		in           string
		ident, table bool
	}{
		{"a", true, true},
		{"_", true, true},
		{"Table_1", true, true},
		{"db.table", false, true},
		{"_db._t1", false, true},
		{"", false, false},
		{"1a", false, false},
		{"a-b", false, false},
		{"a b", false, false},
		{"a.b.c", false, false},
		{".a", false, false},
		{"a.", false, false},
		{"a;DROP", false, false},
		{"é", false, false},
		{"`a`", false, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := ValidIdentifier(tc.in); got != tc.ident {
				t.Errorf("ValidIdentifier(%q) = %v, want %v", tc.in, got, tc.ident)
			}
			if got := ValidTable(tc.in); got != tc.table {
				t.Errorf("ValidTable(%q) = %v, want %v", tc.in, got, tc.table)
			}
		})
	}
}

func TestKnownThresholds(t *testing.T) {
	if !slices.IsSorted(KnownThresholds) {
		t.Errorf("KnownThresholds not sorted: %v", KnownThresholds)
	}
	if len(slices.Compact(slices.Clone(KnownThresholds))) != len(KnownThresholds) {
		t.Errorf("KnownThresholds has duplicates: %v", KnownThresholds)
	}
	if len(KnownThresholds) != 17 {
		t.Errorf("got %d thresholds, want 17", len(KnownThresholds))
	}
	for name := range ratioThresholds {
		if !slices.Contains(KnownThresholds, name) {
			t.Errorf("ratio threshold %q is not known", name)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"0s", 0, true},
		{"90s", 90 * time.Second, true},
		{"1h", time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"1d", 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1y", 365 * 24 * time.Hour, true},
		{"1s500ms", 1500 * time.Millisecond, true},
		{"", 0, false},
		{"1", 0, false},
		{"-1h", 0, false},
		{"1.5h", 0, false},
		{"1m1h", 0, false}, // units must decrease
		{"1h1h", 0, false},
		{"1x", 0, false},
		{"h", 0, false},
		{"300y", 0, false},                     // overflows time.Duration
		{"99999999999999999999999s", 0, false}, // overflows uint64
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseDuration(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseDuration(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

// TestContractExample parses the example from the design brief verbatim, so
// that the documented format and the implementation cannot drift apart.
func TestContractExample(t *testing.T) {
	doc := `
clickhouse:
  addr: ["127.0.0.1:9000"]        # native protocol, host:port list, at least one
  database: default
  username: default
  password_file: ""               # or env MLMON_CLICKHOUSE_PASSWORD; never a flag, never logged
  tls: {enabled: false, ca_file: "", cert_file: "", key_file: "", server_name: "", insecure_skip_verify: false}
  dial_timeout: 5s
  query_timeout: 30s              # upper bound; the scrape timeout header lowers it
  max_parallel_queries: 4

defaults:                         # any key here may be overridden per model (same key at model level)
  window: 1h                      # current window: [now - delay - window, now - delay)
  delay: 0s
  bins: 10                        # numeric features: reference quantile bins
  max_categories: 20              # categorical: top-K of the reference, rest -> "__other__"
  min_samples: 100                # below this, drift/quality metrics for the window are not emitted
  max_classes: 50                 # class labels beyond the top-K (by count) fold into "__other__" in per-class series

models:
  - name: churn                   # label value model="churn"
    task: binary_classification   # binary_classification | multiclass_classification | regression
    positive_class: "1"           # binary only (required there, rejected elsewhere)
    window: 30m                   # optional per-model overrides of any defaults key
    predictions:
      table: predictions          # identifier, optionally db.table
      timestamp: ts
      id: request_id
      model_column: model         # optional: rows WHERE model_column = name
      version_column: model_version   # optional
      prediction: prediction
      score: score                # optional, binary_classification only
      latency: latency_ms         # optional
      error: is_error             # optional
    ground_truth:                 # optional: without it, no performance metrics
      table: ground_truth
      id: request_id
      label: label
      timestamp: ts
    performance:                  # optional; window/delay default to the model's window/delay
      window: 1h
      delay: 0s
    features:
      - {name: age, type: numeric}          # name = column name; optional ` + "`column:`" + ` may differ
      - {name: plan, type: categorical}
    reference:                    # optional; exactly one of:
      from: 2026-01-01T00:00:00Z  #   a fixed range of the predictions table (RFC 3339, from < to)
      to: 2026-01-08T00:00:00Z
      # offset: 168h              #   rolling: the current window shifted back (> 0)
      # table: training_set       #   a separate table with the same feature columns
      # prediction: predicted     #   optional, with table only: prediction column in that table
      # label: label              #   optional, with table only: label column in that table
    thresholds:                   # name -> number; exposed as metrics, read by alert rules
      accuracy_drop_max: 0.05
      psi_max: 0.2
`
	cfg, err := Parse([]byte(doc), WithLookupEnv(env(map[string]string{PasswordEnv: "pw"})))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Models[0]
	if m.Settings.Window != 30*time.Minute || m.Performance.Window != time.Hour || m.Reference.Kind != ReferenceFixed {
		t.Errorf("unexpected model: %s", dumpModel(m))
	}
	if cfg.ClickHouse.Password.Reveal() != "pw" || cfg.ClickHouse.PasswordFile != "" {
		t.Errorf("password not taken from the environment")
	}
}

func TestPreaggregated(t *testing.T) {
	doc := head + `  - name: m
    task: regression
    window: 30m
` + preds + `    preaggregated: {table: agg.mlmon_feature_aggregates, interval: 1m}
  - name: n
    task: regression
` + preds
	cfg, err := Parse([]byte(doc), WithLookupEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	want := &Preaggregated{Table: "agg.mlmon_feature_aggregates", Interval: time.Minute}
	if got := cfg.Models[0].Preaggregated; !reflect.DeepEqual(got, want) {
		t.Errorf("preaggregated = %+v, want %+v", got, want)
	}
	if got := cfg.Models[1].Preaggregated; got != nil {
		t.Errorf("a model without the key: preaggregated = %+v, want nil", got)
	}
}

func TestPreaggregatedValidation(t *testing.T) {
	model := func(name, extra, pre string) string {
		return "  - name: " + name + "\n    task: regression\n" + extra + preds + "    preaggregated: " + pre + "\n"
	}
	for _, tc := range []struct {
		name string
		doc  string
		want []expect
	}{
		{
			name: "unknown key, with suggestion",
			doc:  head + model("m", "", "{table: agg, interval: 1m, intervall: 2m}"),
			want: []expect{{"intervall", "models[0].preaggregated.intervall", `unknown key (did you mean "interval"?)`}},
		},
		{
			name: "missing keys",
			doc:  head + model("m", "", "{}"),
			want: []expect{
				{"preaggregated: {}", "models[0].preaggregated.table", "required key missing"},
				{"preaggregated: {}", "models[0].preaggregated.interval", "required key missing"},
			},
		},
		{
			name: "invalid table",
			doc:  head + model("m", "", "{table: a.b.c, interval: 1m}"),
			want: []expect{{"a.b.c", "models[0].preaggregated.table", `invalid identifier "a.b.c"`}},
		},
		{
			name: "interval not a duration, zero, or fractional",
			doc: head + model("m", "", "{table: agg, interval: soon}") + model("n", "", "{table: agg, interval: 0s}") +
				model("o", "", "{table: agg, interval: 1500ms}"),
			want: []expect{
				{"interval: soon", "models[0].preaggregated.interval", `must be a duration such as 30s, 5m, 1h or 1d, got "soon"`},
				{"interval: 0s", "models[1].preaggregated.interval", "must be greater than 0"},
				{"interval: 1500ms", "models[2].preaggregated.interval", `must be whole seconds, got "1500ms"`},
			},
		},
		{
			// 7m does not divide the default 1h window; 30m does not divide
			// a 45m window set on the model.
			name: "interval does not divide the window",
			doc:  head + model("m", "", "{table: agg, interval: 7m}") + model("n", "    window: 45m\n", "{table: agg, interval: 30m}"),
			want: []expect{
				{"interval: 7m", "models[0].preaggregated.interval", `must divide the model's window (1h), got "7m"`},
				{"interval: 30m", "models[1].preaggregated.interval", `must divide the model's window (45m), got "30m"`},
			},
		},
		{
			name: "with sample",
			doc:  head + model("m", "    sample: 0.5\n", "{table: agg, interval: 1m}"),
			want: []expect{{"preaggregated:", "models[0].preaggregated", "cannot be combined with sample"}},
		},
		{
			name: "not a mapping",
			doc:  head + model("m", "", "agg"),
			want: []expect{{"preaggregated: agg", "models[0].preaggregated", `must be a mapping, got "agg"`}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.doc), WithLookupEnv(noEnv))
			if err == nil {
				t.Fatalf("no error; got %+v", cfg)
			}
			checkProblems(t, tc.doc, err, tc.want)
		})
	}
}
