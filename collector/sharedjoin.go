package collector

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mlmon/mlmon/internal/chquery"
	"github.com/mlmon/mlmon/internal/config"
)

// sharedJoin is the current window's performance join of models that share
// their tables (chquery.SharedJoinKey), run once per scrape for all of them.
// Each model's join would read the same labels: on 18.16, which groups
// every label since the window's start for each join, three models of 1M
// predictions sharing one labels table cost 4.06 s of server CPU in three
// joins and 1.73 s in one (docs/benchmarks.md, "One join for the models
// that share their tables").
type sharedJoin struct {
	// first is the first of the models in the configuration: the join runs
	// as its query, so its cost and its running queries are counted under
	// its name whichever model asks first.
	first  *config.Model
	models []string
	window chquery.Window

	once sync.Once
	res  map[string]perf
	err  error
}

// sharedJoins maps each model that shares its current performance join to
// that join. Models that join alone are absent.
func sharedJoins(models []config.Model, now time.Time) map[string]*sharedJoin {
	byKey := map[string]*sharedJoin{}
	var order []*sharedJoin
	for i := range models {
		m := &models[i]
		w := performanceWindow(m, now)
		key, ok := chquery.SharedJoinKey(m, w)
		if !ok {
			continue
		}
		j := byKey[key]
		if j == nil {
			j = &sharedJoin{first: m, window: w}
			byKey[key] = j
			order = append(order, j)
		}
		j.models = append(j.models, m.Name)
	}
	out := map[string]*sharedJoin{}
	for _, j := range order {
		if len(j.models) < 2 {
			continue
		}
		for _, name := range j.models {
			out[name] = j
		}
	}
	return out
}

// result runs the join on the first call of the scrape, through m's client,
// and returns m's part.
func (j *sharedJoin) result(ctx context.Context, m *model) (perf, error) {
	j.once.Do(func() { j.res, j.err = j.run(ctx, m.client()) })
	if j.err != nil {
		return perf{}, j.err
	}
	p, ok := j.res[m.Name]
	if !ok {
		return perf{}, fmt.Errorf("the join shared with %v returned nothing for model %q", j.models, m.Name)
	}
	return p, nil
}

func (j *sharedJoin) run(ctx context.Context, client *chquery.Client) (map[string]perf, error) {
	src, err := joinSource(ctx, client, j.first, chquery.Source{Window: j.window, Models: j.models}, queryPerformance)
	if err != nil {
		return nil, err
	}
	out := make(map[string]perf, len(j.models))
	if j.first.Task == config.TaskRegression {
		res, err := client.RegressionByModel(ctx, j.first, src, queryPerformance)
		for name, r := range res {
			out[name] = perf{regression: &r}
		}
		return out, err
	}
	res, err := client.ClassificationByModel(ctx, j.first, src, queryPerformance)
	for name, c := range res {
		out[name] = perf{classification: &c, classScores: c.ClassScores}
	}
	return out, err
}
