package chquery

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/compat"
	"github.com/mlmon/mlmon/internal/config"
)

// update rewrites the golden SQL files instead of comparing with them.
var update = flag.Bool("update", false, "rewrite testdata/sql/*.sql from the builders")

const goldenDir = "testdata/sql"

const regenerate = "go test ./internal/chquery -run TestGoldenSQL -update"

// goldenCase is one builder call whose SQL is kept as a file to read.
type goldenCase struct {
	file  string // under testdata/sql
	about string // the call, in words, for the file's header
	build func() (Query, error)
}

// goldenModel is a model with every optional column, of the given task.
func goldenModel(task config.Task) *config.Model {
	m := &config.Model{
		Name: "churn",
		Task: task,
		Predictions: config.Predictions{Table: "db.predictions", Timestamp: "ts", ID: "request_id",
			ModelColumn: "model", VersionColumn: "model_version", Prediction: "prediction",
			Latency: "latency_ms", Error: "is_error"},
		GroundTruth:   &config.GroundTruth{Table: "db.ground_truth", ID: "request_id", Label: "label", Timestamp: "ts"},
		Preaggregated: &config.Preaggregated{Table: "db.mlmon_aggregates", Interval: time.Minute},
	}
	if task == config.TaskBinary {
		m.PositiveClass = "1"
		m.Predictions.Score = "score"
	}
	return m
}

// goldenCases are the builders' calls, one per query kind, model kind and
// source form (one server, Distributed, each join strategy, each sampling).
func goldenCases() []goldenCase {
	binary, multiclass, regression := goldenModel(config.TaskBinary), goldenModel(config.TaskMulticlass), goldenModel(config.TaskRegression)
	bare := &config.Model{Name: "bare", Task: config.TaskRegression,
		Predictions: config.Predictions{Table: "predictions", Timestamp: "ts", ID: "id", Prediction: "y"}}
	w := Window{From: time.Unix(1_767_222_000, 0).UTC(), To: time.Unix(1_767_225_600, 0).UTC()}
	lookback := Window{From: w.From.Add(-24 * time.Hour), To: w.To}
	// Half-way into an interval, so the pre-aggregated range rounds down.
	pw := Window{From: w.From.Add(90 * time.Second), To: w.To.Add(90 * time.Second)}
	cols := []Column{{Name: "age", Numeric: true}, {Name: "plan"}}
	bins := []Binning{
		{Column: Column{Name: "age", Numeric: true}, Edges: []float64{18, 30.5, 45}, Min: 16, Max: 90},
		{Column: Column{Name: "plan"}, Categories: []string{"basic", "pro"}, Seen: []string{"basic", "pro", "team"}},
		{Column: Column{Name: "income", Numeric: true}, Edges: []float64{1000}, Min: math.NaN(), Max: math.NaN()},
		{Column: Column{Name: "region"}, Categories: []string{"eu"}},
	}
	shared := []string{"churn", "upsell", "retention"}
	hash := Sampling{Ratio: 0.25}
	clause := Sampling{Ratio: 0.25, Clause: true}
	ok := func(q Query, _ bool, err error) (Query, error) { return q, err }

	cs := []goldenCase{
		{"operations.sql", "OperationsQuery, binary model with every optional column, one server",
			func() (Query, error) { return OperationsQuery(binary, w, lookback, false) }},
		{"operations_distributed.sql", "OperationsQuery, Distributed predictions table",
			func() (Query, error) { return OperationsQuery(binary, w, lookback, true) }},
		{"operations_bare.sql", "OperationsQuery, a model without model, version, latency or error columns",
			func() (Query, error) { return OperationsQuery(bare, w, lookback, false) }},

		{"profile.sql", "ProfileQuery, 4 bins, a numeric and a categorical column, predictions table",
			func() (Query, error) { return ProfileQuery(binary, Source{Window: w}, cols, 4) }},
		{"profile_distributed.sql", "ProfileQuery, Distributed predictions table",
			func() (Query, error) { return ProfileQuery(binary, Source{Window: w, Distributed: true}, cols, 4) }},
		{"profile_table.sql", "ProfileQuery, a reference table (Source.Table)",
			func() (Query, error) { return ProfileQuery(binary, Source{Table: "db.training_set"}, cols, 4) }},
		{"profile_sampled_hash.sql", "ProfileQuery, sampled by a hash of the id",
			func() (Query, error) { return ProfileQuery(binary, Source{Window: w, Sampling: hash}, cols, 4) }},

		{"categories.sql", "CategoriesQuery, top 20, predictions table",
			func() (Query, error) { return CategoriesQuery(binary, Source{Window: w}, "plan", 20) }},
		{"categories_distributed.sql", "CategoriesQuery, Distributed predictions table",
			func() (Query, error) {
				return CategoriesQuery(binary, Source{Window: w, Distributed: true}, "plan", 20)
			}},
		{"categories_table.sql", "CategoriesQuery, a reference table (Source.Table)",
			func() (Query, error) { return CategoriesQuery(binary, Source{Table: "db.training_set"}, "plan", 20) }},

		{"window.sql", "WindowQuery: numeric with and without a reference range, categorical with and without Seen",
			func() (Query, error) { return WindowQuery(binary, Source{Window: w}, bins) }},
		{"window_distributed.sql", "WindowQuery, Distributed predictions table",
			func() (Query, error) { return WindowQuery(binary, Source{Window: w, Distributed: true}, bins) }},
		{"window_sampled_hash.sql", "WindowQuery, sampled by a hash of the id",
			func() (Query, error) { return WindowQuery(binary, Source{Window: w, Sampling: hash}, bins) }},
		{"window_sampled_clause.sql", "WindowQuery, sampled by the table's SAMPLE clause",
			func() (Query, error) { return WindowQuery(binary, Source{Window: w, Sampling: clause}, bins) }},
		{"window_scores.sql", "WindowQuery with Source.Scores, binary model with a score",
			func() (Query, error) { return WindowQuery(binary, Source{Window: w, Scores: true}, bins) }},
		{"window_scores_distributed.sql", "WindowQuery with Source.Scores, Distributed predictions table",
			func() (Query, error) {
				return WindowQuery(binary, Source{Window: w, Scores: true, Distributed: true}, bins)
			}},
		{"window_table.sql", "WindowQuery over a reference table (Source.Table)",
			func() (Query, error) { return WindowQuery(binary, Source{Table: "db.training_set"}, bins) }},
		{"window_no_columns.sql", "WindowQuery without columns: the row count alone",
			func() (Query, error) { return WindowQuery(binary, Source{Window: w}, nil) }},

		{"grid.sql", "GridQuery, the numeric columns' Wasserstein grid",
			func() (Query, error) { return ok(GridQuery(binary, Source{Window: w}, bins)) }},
		{"grid_distributed.sql", "GridQuery, Distributed predictions table",
			func() (Query, error) { return ok(GridQuery(binary, Source{Window: w, Distributed: true}, bins)) }},

		{"label_names.sql", "LabelNamesQuery for two hashes",
			func() (Query, error) {
				return LabelNamesQuery(binary, Source{Window: w}, []uint64{LabelHash("0"), LabelHash("1")})
			}},

		{"label_volume.sql", "LabelVolumeQuery, both sides of the performance join counted",
			func() (Query, error) { return LabelVolumeQuery(binary, Source{Window: w}) }},
		{"label_volume_shared.sql", "LabelVolumeQuery, a join shared by three models",
			func() (Query, error) { return LabelVolumeQuery(binary, Source{Window: w, Models: shared}) }},
		{"classification_binary_shared.sql", "ClassificationQuery (labels by hash), binary with a score, a join shared by three models, one server",
			func() (Query, error) { return ClassificationQuery(binary, Source{Window: w, Models: shared}) }},
		{"classification_binary_shared_read_once.sql", "ClassificationQuery (labels by hash), binary with a score, a join shared by three models, one server before 19.4",
			func() (Query, error) {
				return ClassificationQuery(binary, Source{Window: w, Models: shared, ReadOnce: true})
			}},
		{"classification_binary_shared_join_local.sql", "ClassificationQuery (labels by hash), binary with a score, a join shared by three models, JoinLocal",
			func() (Query, error) {
				return ClassificationQuery(binary, Source{Window: w, Models: shared, Join: JoinLocal})
			}},
		{"regression_shared.sql", "RegressionQuery, a join shared by three models, one server",
			func() (Query, error) { return RegressionQuery(regression, Source{Window: w, Models: shared}) }},

		{"preaggregated_window.sql", "PreaggregatedWindowQuery, the categorical columns",
			func() (Query, error) { return ok(PreaggregatedWindowQuery(binary, pw, bins)) }},
		{"preaggregated_digest.sql", "PreaggregatedDigestQuery, the numeric columns",
			func() (Query, error) { return ok(PreaggregatedDigestQuery(binary, pw, bins)) }},
		{"preaggregated_operations.sql", "PreaggregatedOperationsQuery, latency and error columns",
			func() (Query, error) {
				return PreaggregatedOperationsQuery(binary, pw, Window{From: pw.From.Add(-24 * time.Hour), To: pw.To})
			}},
		{"version.sql", "VersionQuery, the newest version of the last two intervals",
			func() (Query, error) { return VersionQuery(binary, pw) }},
	}
	joins := []struct {
		suffix, about string
		src           Source
	}{
		{"", "one server", Source{Window: w}},
		{"_join_local", "JoinLocal", Source{Window: w, Join: JoinLocal}},
		{"_join_global", "JoinGlobal", Source{Window: w, Join: JoinGlobal}},
		{"_join_initiator", "JoinInitiator", Source{Window: w, Join: JoinInitiator}},
		{"_sampled_hash", "one server, sampled by a hash of the id", Source{Window: w, Sampling: hash}},
		{"_sampled_clause", "one server, sampled by the SAMPLE clause", Source{Window: w, Sampling: clause}},
		{"_read_once", "one server before 19.4, the predictions read once", Source{Window: w, ReadOnce: true}},
		{"_join_local_read_once", "JoinLocal before 19.4, the predictions read once", Source{Window: w, Join: JoinLocal, ReadOnce: true}},
	}
	scored := goldenModel(config.TaskMulticlass)
	scored.Scores = map[string]string{"buy": "p_buy", "browse": "p_browse", "leave": "p_leave"}
	cs = append(cs,
		goldenCase{"window_class_scores.sql", "WindowQuery with Source.ClassScores, multiclass with three scores",
			func() (Query, error) { return WindowQuery(scored, Source{Window: w, ClassScores: true}, bins) }},
		goldenCase{"window_class_scores_distributed.sql", "WindowQuery with Source.ClassScores, Distributed predictions table",
			func() (Query, error) {
				return WindowQuery(scored, Source{Window: w, ClassScores: true, Distributed: true}, bins)
			}})
	for _, j := range joins {
		src := j.src
		cs = append(cs,
			goldenCase{"classification_class_scores" + j.suffix + ".sql", "ClassificationQuery (labels by hash), multiclass with three scores, " + j.about,
				func() (Query, error) { return ClassificationQuery(scored, src) }},
			goldenCase{"classification_by_name_class_scores" + j.suffix + ".sql", "ClassificationByNameQuery, multiclass with three scores, " + j.about,
				func() (Query, error) { return ClassificationByNameQuery(scored, src) }})
	}
	cs = append(cs, segmentGoldenCases(w, bins)...)
	for _, j := range joins {
		src := j.src
		cs = append(cs,
			goldenCase{"classification_binary" + j.suffix + ".sql", "ClassificationQuery (labels by hash), binary with a score, " + j.about,
				func() (Query, error) { return ClassificationQuery(binary, src) }},
			goldenCase{"classification_multiclass" + j.suffix + ".sql", "ClassificationQuery (labels by hash), multiclass, " + j.about,
				func() (Query, error) { return ClassificationQuery(multiclass, src) }},
			goldenCase{"classification_by_name_binary" + j.suffix + ".sql", "ClassificationByNameQuery, binary with a score, " + j.about,
				func() (Query, error) { return ClassificationByNameQuery(binary, src) }},
			goldenCase{"classification_by_name_multiclass" + j.suffix + ".sql", "ClassificationByNameQuery, multiclass, " + j.about,
				func() (Query, error) { return ClassificationByNameQuery(multiclass, src) }},
			goldenCase{"regression" + j.suffix + ".sql", "RegressionQuery, " + j.about,
				func() (Query, error) { return RegressionQuery(regression, src) }},
		)
	}
	return cs
}

// TestGoldenSQL keeps every query kind's SQL in testdata/sql, with its
// arguments bound as clickhouse-go binds them, so the SQL the exporter sends
// is read and reviewed whole, as code is. A change to a builder shows up as a
// diff of these files; regenerate them with -update.
func TestGoldenSQL(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range goldenCases() {
		if seen[c.file] {
			t.Fatalf("two cases write %s", c.file)
		}
		seen[c.file] = true
		q, err := c.build()
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		got, err := goldenText(c, q)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		path := filepath.Join(goldenDir, c.file)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v; run %s", path, err, regenerate)
			continue
		}
		if string(want) != got {
			t.Errorf("%s is stale: the builder now writes\n%s\nrun %s", path, got, regenerate)
		}
	}
	// A file no case writes is a query that no longer exists.
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			if *update {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("%s has no case in goldenCases; run %s", f, regenerate)
		}
	}
}

// goldenText is a golden file: a header naming the call, then the bound SQL
// laid out by prettySQL.
func goldenText(c goldenCase, q Query) (string, error) {
	bound, err := compat.Bind(q.SQL, q.Args...)
	if err != nil {
		return "", err
	}
	if strings.Contains(bound, "\n") {
		return "", fmt.Errorf("a line break in the SQL: prettySQL would not round-trip")
	}
	if back := unprettySQL(prettySQL(bound)); back != bound {
		return "", fmt.Errorf("prettySQL does not round-trip:\n%s\n%s", bound, back)
	}
	return fmt.Sprintf("-- %s\n-- query name: %s; generated by %s\n%s\n", c.about, q.Name, regenerate, prettySQL(bound)), nil
}
