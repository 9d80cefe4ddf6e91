package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

// TestWithoutEstimate checks that the benchmark's drift pass without the
// estimate has the key list of the pass the exporter builds without it.
func TestWithoutEstimate(t *testing.T) {
	cols := []chquery.Binning{
		{Column: chquery.Column{Name: "age", Numeric: true}, Edges: []float64{18, 30, 45}, Min: 16, Max: 90},
		{Column: chquery.Column{Name: "plan"}, Categories: []string{"free", "pro"}},
	}
	w := chquery.Window{From: time.Unix(1767222000, 0), To: time.Unix(1767225600, 0)}
	preds := config.Predictions{Table: "predictions", Timestamp: "ts", ID: "id", Prediction: "prediction", Score: "score"}
	binary := &config.Model{Name: "b", Task: config.TaskBinary, PositiveClass: "1", Predictions: preds}
	preds.Score = ""
	multiclass := &config.Model{Name: "m", Task: config.TaskMulticlass, Predictions: preds,
		Scores: map[string]string{"a": "p_a", "b": "p_b", "c": "p_c"}}
	keyList := regexp.MustCompile(`arrayJoin\(\[[^]]*\]\)`)
	for _, c := range []struct {
		m   *config.Model
		src chquery.Source
	}{
		{binary, chquery.Source{Window: w, Scores: true}},
		{multiclass, chquery.Source{Window: w, ClassScores: true}},
	} {
		with, err := chquery.WindowQuery(c.m, c.src, cols)
		if err != nil {
			t.Fatal(err)
		}
		without, err := chquery.WindowQuery(c.m, chquery.Source{Window: w}, cols)
		if err != nil {
			t.Fatal(err)
		}
		got, changed := withoutEstimate(with.SQL)
		if !changed {
			t.Errorf("%s: no key taken out of\n%s", c.m.Name, with.SQL)
		}
		if g, want := keyList.FindString(got), keyList.FindString(without.SQL); g != want || want == "" {
			t.Errorf("%s: keys %q, want %q", c.m.Name, g, want)
		}
		if _, changed := withoutEstimate(without.SQL); changed {
			t.Errorf("%s: keys taken out of the pass without the estimate", c.m.Name)
		}
	}
}
