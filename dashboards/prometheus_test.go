package dashboards

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana-tools/sdk"

	"github.com/mlmon/mlmon/internal/stacktest"
)

// demoModels are the models of deploy/local/mlmon.yml, which the stack runs.
var demoModels = []string{"churn", "eta", "intent"}

// Every query of every panel returns data from a real Prometheus that
// scraped a real exporter over the demo data and evaluated the rules: a
// panel that would say "No data" on the demo is a broken panel. Variables
// are resolved as Grafana resolves them, by running their label_values
// queries; a panel on a board with a model variable must show data for
// each demo model it declares (every model unless it is task-specific).
func TestPanelsReturnData(t *testing.T) {
	start := time.Now()
	stack := stacktest.Start(t, stacktest.Options{})
	// Rates need two samples in their window, and the recording rules a
	// few evaluations: wait for five scrapes.
	if _, err := stack.WaitQuery(`count_over_time(up{job="mlmon"}[1m]) >= 5`, 30*time.Second, nonEmpty); err != nil {
		t.Fatal(err)
	}
	t.Logf("stack up and scraped in %s", time.Since(start).Round(100*time.Millisecond))

	generated, err := Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	demo := map[string]map[uint][]string{}
	for _, d := range generated {
		demo[d.Board.UID] = d.Demo
	}
	// The first empty result waits for late data; after a failure the
	// others need not each wait as long.
	var queries, failures int
	for _, s := range loadShipped(t) {
		t.Run(s.board.UID, func(t *testing.T) {
			scopes := resolveVariables(t, stack, s.board)
			for _, p := range dataPanels(s.board) {
				for _, sc := range scopes {
					if m, ok := sc["model"]; ok && !slices.Contains(demoFor(demo[s.board.UID], p.ID), m) {
						continue
					}
					for _, e := range exprs(p) {
						q, err := expand(e, sc)
						if err != nil {
							t.Errorf("%s: %v", p.Title, err)
							continue
						}
						queries++
						wait := 10 * time.Second
						if failures > 0 {
							wait = time.Second
						}
						v, err := stack.WaitQuery(q, wait, nonEmpty)
						if err != nil || len(v) == 0 {
							failures++
							t.Errorf("panel %q, model %q: no data from\n  %s\n  (%v)", p.Title, sc["model"], q, err)
						}
					}
				}
			}
		})
	}

	// The drift panels react to drift: severe drift injected into the
	// current window of every model marks churn's features drifting in the
	// Feature drift ranking and counts them on the Overview.
	if err := stack.RunDemodata("--reference.length=0s", "--history=30m", "--rate=3", "--drift=1", "--seed=2"); err != nil {
		t.Fatal(err)
	}
	boards := map[string]sdk.Board{}
	for _, s := range loadShipped(t) {
		boards[s.board.UID] = s.board
	}
	checks := []struct {
		uid, panel string
		target     int
		want       func(stacktest.Vector) bool
	}{
		{UIDFeatures, "Features ranked by PSI", 2, func(v stacktest.Vector) bool { return count(v, 1) >= 3 }},
		{UIDOverview, "Drifted features", 0, func(v stacktest.Vector) bool { return maxOf(v, "churn") >= 3 }},
		{UIDModel, "Prediction PSI", 0, func(v stacktest.Vector) bool { return len(v) == 1 && v[0].Value > ruleDefault("prediction_psi_max") }},
	}
	sc := scope{"model": "churn", "feature": ".+"}
	for _, c := range checks {
		p := panelByTitle(t, boards[c.uid], c.panel)
		q, err := expand(exprs(p)[c.target], sc)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := stack.WaitQuery(q, 30*time.Second, c.want); err != nil {
			t.Errorf("%s / %s after injected drift: %v (got %v)", c.uid, c.panel, err, v)
		}
	}
	estimateMeetsRealised(t, stack, boards[UIDModel])
	t.Logf("%d panel queries run, drift seen; %s in all", queries, time.Since(start).Round(100*time.Millisecond))
}

// estimateMeetsRealised follows the demo's drift through the model
// dashboard's "Accuracy: estimated vs realised" panel for the models with
// an estimate: churn (binary, a score) and intent (multiclass, scores:),
// whose drift is a covariate shift (cmd/demodata: P(label | scores) never
// changes). With the drifted rows only in the last 30 minutes (injected by
// the caller), the estimate falls while the realised accuracy, whose
// performance window ends 30 minutes ago, has not moved: the estimate sees
// the fall before the labels. Then the data is drifted over the last 2.5
// hours alone, labels in where they are due: the realised value falls too,
// and meets the estimate, which also meets the accuracy of every labelled
// drifted row, computed here in SQL from the tables.
func estimateMeetsRealised(t *testing.T, stack *stacktest.Stack, board sdk.Board) {
	p := panelByTitle(t, board, "Accuracy: estimated vs realised")
	values := func(model string) (e, r, ref float64, err error) {
		var out [3]float64
		for target := range out {
			q, err := expand(exprs(p)[target], scope{"model": model})
			if err != nil {
				t.Fatal(err)
			}
			v, err := stack.Query(q)
			if err != nil || len(v) != 1 {
				return 0, 0, 0, fmt.Errorf("%s: %v (%v)", q, v, err)
			}
			out[target] = v[0].Value
		}
		// The panel's targets: estimate, realised, reference.
		return out[0], out[1], out[2], nil
	}
	for _, model := range demoEstimated {
		var e, r, ref float64
		before := func() (err error) {
			if e, r, ref, err = values(model); err != nil {
				return err
			}
			if !(e < ref-0.1 && r > ref-0.05) {
				return fmt.Errorf("estimate %.3f, realised %.3f, reference %.3f: want the estimate 0.1 below the reference and the realised within 0.05 of it", e, r, ref)
			}
			return nil
		}
		if err := waitFor(30*time.Second, before); err != nil {
			t.Fatalf("%s before the labels: %v", model, err)
		}
		t.Logf("%s, drift in the last 30 minutes: estimate %.3f, realised %.3f, reference %.3f", model, e, r, ref)
	}

	if err := stack.ClickHouse.Exec(t.Context(), "TRUNCATE TABLE predictions", "TRUNCATE TABLE ground_truth"); err != nil {
		t.Fatal(err)
	}
	// The same reference as the stack's seeding run (seed 1), then drift.
	if err := stack.RunDemodata("--history=150m", "--rate=1", "--drift=1"); err != nil {
		t.Fatal(err)
	}
	for _, model := range demoEstimated {
		var e, r, ref float64
		after := func() (err error) {
			if e, r, ref, err = values(model); err != nil {
				return err
			}
			if !(r < ref-0.1 && math.Abs(e-r) < 0.04) {
				return fmt.Errorf("estimate %.3f, realised %.3f, reference %.3f: want the realised 0.1 below the reference and within 0.04 of the estimate", e, r, ref)
			}
			return nil
		}
		if err := waitFor(30*time.Second, after); err != nil {
			t.Fatalf("%s once the labels are in: %v", model, err)
		}
		// The accuracy of the drifted rows with a label, from the tables:
		// each demo prediction has at most one label.
		var acc float64
		var n uint64
		if err := stack.ClickHouse.Conn().QueryRow(t.Context(),
			"SELECT avg(prediction = label), count() FROM (SELECT request_id, prediction FROM predictions "+
				"WHERE model = ? AND ts >= now() - INTERVAL 150 MINUTE) ANY INNER JOIN (SELECT request_id, label FROM ground_truth) USING request_id",
			model).Scan(&acc, &n); err != nil {
			t.Fatal(err)
		}
		if n < 1000 || math.Abs(e-acc) > 0.04 {
			t.Errorf("%s: estimate %.3f, the %d labelled drifted rows' accuracy %.3f: want them within 0.04", model, e, n, acc)
		}
		t.Logf("%s, drift over 2.5 hours, labels in: estimate %.3f, realised %.3f (%.3f over the %d labelled rows in SQL), reference %.3f", model, e, r, acc, n, ref)
	}
}

// waitFor retries check every second until it succeeds or timeout passes,
// and returns its last error.
func waitFor(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Second)
	}
}

func panelByTitle(t *testing.T, b sdk.Board, title string) *sdk.Panel {
	t.Helper()
	for _, p := range dataPanels(b) {
		if p.Title == title {
			return p
		}
	}
	t.Fatalf("%s: no panel %q", b.UID, title)
	return nil
}

// count is how many samples have value x.
func count(v stacktest.Vector, x float64) int {
	n := 0
	for _, s := range v {
		if s.Value == x {
			n++
		}
	}
	return n
}

// maxOf is the largest value among a model's samples (-1 when none).
func maxOf(v stacktest.Vector, model string) float64 {
	m := -1.0
	for _, s := range v {
		if s.Metric["model"] == model && s.Value > m {
			m = s.Value
		}
	}
	return m
}

func nonEmpty(v stacktest.Vector) bool { return len(v) > 0 }

func demoFor(demo map[uint][]string, id uint) []string {
	if ms, ok := demo[id]; ok {
		return ms
	}
	return demoModels
}

// scope is one assignment of the board's variables.
type scope map[string]string

// resolveVariables runs the board's variable queries in order, as Grafana
// does, and returns one scope per value of each single-value variable
// (every model) with multi-value variables set to All.
func resolveVariables(t *testing.T, stack *stacktest.Stack, b sdk.Board) []scope {
	t.Helper()
	scopes := []scope{{}}
	for _, v := range b.Templating.List {
		switch v.Type {
		case "datasource":
			continue
		case "custom":
			cur, _ := v.Current.Value.(string)
			if cur == "" && len(v.Options) > 0 {
				cur = v.Options[0].Value
			}
			for _, sc := range scopes {
				sc[v.Name] = cur
			}
		case "query":
			var next []scope
			for _, sc := range scopes {
				values := labelValuesOf(t, stack, v, sc)
				if len(values) == 0 {
					t.Fatalf("variable %s has no values in scope %v", v.Name, sc)
				}
				if v.Multi {
					sc[v.Name] = "(" + strings.Join(values, "|") + ")"
					next = append(next, sc)
					continue
				}
				if v.Name == "model" && !slices.Equal(values, demoModels) {
					t.Fatalf("variable model = %v, want the demo models %v", values, demoModels)
				}
				for _, val := range values {
					c := scope{}
					for k, x := range sc {
						c[k] = x
					}
					c[v.Name] = val
					next = append(next, c)
				}
			}
			scopes = next
		default:
			t.Fatalf("variable %s: type %s not handled by the test", v.Name, v.Type)
		}
	}
	return scopes
}

// labelValuesOf evaluates label_values(selector, label) as an instant
// query: the label's values among the selector's series.
func labelValuesOf(t *testing.T, stack *stacktest.Stack, v sdk.TemplateVar, sc scope) []string {
	t.Helper()
	sel, label, ok := parseLabelValues(v.Query.(string))
	if !ok {
		t.Fatalf("variable %s: cannot read %v", v.Name, v.Query)
	}
	sel, err := expand(sel, sc)
	if err != nil {
		t.Fatalf("variable %s: %v", v.Name, err)
	}
	res, err := stack.WaitQuery(fmt.Sprintf("group by (%s) (%s)", label, sel), 10*time.Second, nonEmpty)
	if err != nil {
		t.Fatalf("variable %s: %v", v.Name, err)
	}
	var values []string
	for _, s := range res {
		values = append(values, s.Metric[label])
	}
	sort.Strings(values)
	return values
}

// expand substitutes variables as Grafana does before sending a query.
func expand(expr string, sc scope) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		if v, ok := builtins[name]; ok {
			return v
		}
		if v, ok := sc[name]; ok {
			return v
		}
		missing = append(missing, name)
		return ref
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%s: no value for %v", expr, missing)
	}
	return out, nil
}
