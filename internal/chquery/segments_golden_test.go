package chquery

import "github.com/mlmon/mlmon/internal/config"

// segmentGoldenCases are the queries that count segments in the same pass:
// the window pass and the performance joins, on one server and in the forms
// a cluster runs.
func segmentGoldenCases(w Window, bins []Binning) []goldenCase {
	binary, multiclass, regression := goldenModel(config.TaskBinary), goldenModel(config.TaskMulticlass), goldenModel(config.TaskRegression)
	segs := &Segments{Columns: []Segment{{Column: "country", Values: []string{"BR", "DE", "US"}}, {Column: "app_version", Values: []string{"7.2"}}, {Column: "empty"}}, Output: 1}
	rowsOnly := &Segments{Columns: segs.Columns, Output: -1}
	return []goldenCase{
		{"window_segments.sql", "WindowQuery with Source.Segments: three segment columns, the output (plan) binned per value",
			func() (Query, error) { return WindowQuery(binary, Source{Window: w, Segments: segs}, bins) }},
		{"window_segments_distributed.sql", "WindowQuery with Source.Segments and Scores, Distributed predictions table",
			func() (Query, error) {
				return WindowQuery(binary, Source{Window: w, Scores: true, Distributed: true, Segments: segs}, bins)
			}},
		{"window_segments_features.sql", "WindowQuery with Source.Segments and Scores, per-segment feature drift on the first and third segment columns",
			func() (Query, error) {
				fd := &Segments{Columns: []Segment{{Column: "country", Values: []string{"BR", "DE", "US"}, Features: true},
					{Column: "app_version", Values: []string{"7.2"}}, {Column: "empty", Features: true}}, Output: 1}
				return WindowQuery(binary, Source{Window: w, Scores: true, Segments: fd}, bins)
			}},
		{"window_segments_rows_only.sql", "WindowQuery with Source.Segments without an output column: rows per value",
			func() (Query, error) { return WindowQuery(binary, Source{Window: w, Segments: rowsOnly}, bins) }},
		{"classification_segments_binary.sql", "ClassificationQuery with Source.Segments, binary with a score, one server",
			func() (Query, error) { return ClassificationQuery(binary, Source{Window: w, Segments: segs}) }},
		{"classification_segments_multiclass_join_local.sql", "ClassificationQuery with Source.Segments, multiclass, JoinLocal",
			func() (Query, error) {
				return ClassificationQuery(multiclass, Source{Window: w, Join: JoinLocal, Segments: segs})
			}},
		{"classification_by_name_segments_binary.sql", "ClassificationByNameQuery with Source.Segments, binary with a score",
			func() (Query, error) { return ClassificationByNameQuery(binary, Source{Window: w, Segments: segs}) }},
		{"window_segments_class_scores.sql", "WindowQuery with Source.ClassScores and Segments.ClassScores: each segment value's class score histograms (multiclass with three scores)",
			func() (Query, error) {
				scored := goldenModel(config.TaskMulticlass)
				scored.Scores = map[string]string{"buy": "p_buy", "browse": "p_browse", "leave": "p_leave"}
				cs := &Segments{Columns: segs.Columns, Output: 1, ClassScores: true}
				return WindowQuery(scored, Source{Window: w, ClassScores: true, Segments: cs}, bins)
			}},
		{"regression_segments.sql", "RegressionQuery with Source.Segments, one server",
			func() (Query, error) { return RegressionQuery(regression, Source{Window: w, Segments: segs}) }},
		{"regression_segments_join_global.sql", "RegressionQuery with Source.Segments, JoinGlobal",
			func() (Query, error) {
				return RegressionQuery(regression, Source{Window: w, Join: JoinGlobal, Segments: segs})
			}},
	}
}
