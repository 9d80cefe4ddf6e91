//go:build chdb

package compat

import (
	"testing"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

// segments runs the queries that count segments in the same pass — the
// reference's top values of String, Nullable(String) and numeric columns,
// the window pass and the performance joins with segment keys — on both
// engines, in every form, and requires the same rows.
func (e *env) segments(t *testing.T, cfg *config.Config) {
	for _, c := range []struct {
		model string
		cols  []string
	}{
		{"churn", []string{"region", "age", "model_version", "plan"}},
		{"eta", []string{"zone", "build"}},
		// Multiclass with scores: the segment values' class score keys.
		{"intent's \\ model", []string{"region", "plan"}},
	} {
		var m *config.Model
		for i := range cfg.Models {
			if cfg.Models[i].Name == c.model {
				m = &cfg.Models[i]
			}
		}
		if m == nil {
			t.Fatalf("no model %s", c.model)
		}
		now := scrapeNow
		cur, pw := currentWindow(m, now), performanceWindow(m, now)
		segs := &chquery.Segments{Output: 1}
		for _, col := range c.cols {
			for _, distributed := range []bool{false, true} {
				q, err := chquery.CategoriesQuery(m, chquery.Source{Window: cur, Distributed: distributed}, col, 3)
				if err != nil {
					t.Fatal(err)
				}
				o := e.compare(t, "segment values "+col, q)
				if distributed {
					continue
				}
				d := dec{t, "segment values"}
				// Per-segment feature drift on the first segment column.
				s := chquery.Segment{Column: col, Values: []string{}, Features: len(segs.Columns) == 0}
				for _, row := range o.r18.Rows {
					s.Values = append(s.Values, d.str(row[0]))
				}
				segs.Columns = append(segs.Columns, s)
			}
		}
		out := chquery.Binning{Column: chquery.Column{Name: m.Predictions.Prediction}, Categories: []string{"1", "0"}}
		if m.Task == config.TaskRegression {
			out = chquery.Binning{Column: chquery.Column{Name: m.Predictions.Prediction, Numeric: true}, Edges: []float64{10, 20, 30}, Min: 0, Max: 100}
		}
		bins := []chquery.Binning{{Column: chquery.Column{Name: m.Features[0].Column, Numeric: true}, Edges: []float64{30, 50}, Min: 18, Max: 90}, out}
		for _, distributed := range []bool{false, true} {
			for _, scores := range []bool{false, true} {
				if scores && m.Predictions.Score == "" {
					continue
				}
				q, err := chquery.WindowQuery(m, chquery.Source{Window: cur, Distributed: distributed, Segments: segs, Scores: scores}, bins)
				if err != nil {
					t.Fatal(err)
				}
				e.compare(t, "window with segments", q)
			}
			if len(m.Scores) > 0 {
				cs := *segs
				cs.ClassScores = true
				q, err := chquery.WindowQuery(m, chquery.Source{Window: cur, Distributed: distributed, Segments: &cs, ClassScores: true}, bins)
				if err != nil {
					t.Fatal(err)
				}
				e.compare(t, "window with segments and class scores", q)
			}
		}
		src := chquery.Source{Window: pw, Segments: segs}
		forms := append([]joinForm{{}}, joinForms...)
		for _, f := range forms {
			builds := []func(*config.Model, chquery.Source) (chquery.Query, error){chquery.ClassificationQuery, chquery.ClassificationByNameQuery}
			if m.Task == config.TaskRegression {
				builds = builds[:0]
				builds = append(builds, chquery.RegressionQuery)
			}
			for _, build := range builds {
				q, err := build(m, f.apply(src))
				if err != nil {
					t.Fatal(err)
				}
				e.compare(t, "performance with segments "+f.String(), q)
			}
		}
		t.Logf("%s: segment queries agree on both engines (%d segment columns)", m.Name, len(segs.Columns))
	}
}
