package config

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// maxModelNameLen bounds the model label value, which every series of the
// model carries.
const maxModelNameLen = 200

// model checks one models[] item. It also returns the node of the name, for
// reporting duplicates.
func (l *loader) model(item *yaml.Node, path string, defaults Settings) (Model, *yaml.Node) {
	m := Model{Settings: defaults, Thresholds: map[string]float64{}}
	if isNull(resolve(item)) {
		l.add(item, path, "must be a mapping, got null")
		return m, item
	}
	o := l.object(item, item, path, modelKeys)
	if o == nil {
		return m, item
	}

	nameNode := item
	if l.nonEmpty(o, "name", &m.Name, true) {
		nameNode = o.fields["name"].val
		if n := utf8.RuneCountInString(m.Name); n > maxModelNameLen {
			l.add(nameNode, o.join("name"), "must be at most %d characters, got %d", maxModelNameLen, n)
		}
	}

	// taskKnown guards the task-dependent checks below, so that a bad task
	// is reported once rather than as a cascade.
	taskKnown := false
	if f, ok := o.get("task"); !ok {
		l.missing(o, "task")
	} else if s, ok := l.asString(f, o.join("task")); ok {
		switch Task(s) {
		case TaskBinary, TaskMulticlass, TaskRegression:
			m.Task, taskKnown = Task(s), true
		default:
			l.add(f.val, o.join("task"), "must be one of %s, %s or %s, got %q", TaskBinary, TaskMulticlass, TaskRegression, s)
		}
	}

	if f, ok := o.get("positive_class"); ok {
		if taskKnown && m.Task != TaskBinary {
			l.add(f.key, o.join("positive_class"), "only allowed when task is %s", TaskBinary)
		} else {
			l.nonEmpty(o, "positive_class", &m.PositiveClass, false)
		}
	} else if m.Task == TaskBinary {
		l.add(o.at, o.join("positive_class"), "required when task is %s", TaskBinary)
	}

	l.settings(o, &m.Settings)

	if p := l.section(o, "predictions", predictionsKeys, true); p != nil {
		m.Predictions = l.predictions(p, m.Task, taskKnown)
	}

	if g := l.section(o, "ground_truth", groundTruthKeys, false); g != nil {
		m.GroundTruth = l.groundTruth(g)
	}

	m.Performance = Performance{Window: m.Settings.Window, Delay: m.Settings.Delay}
	if p := l.section(o, "performance", performanceKeys, false); p != nil {
		if !o.has("ground_truth") {
			l.add(o.fields["performance"].key, o.join("performance"), "requires ground_truth: performance metrics need labels")
		}
		l.duration(p, "window", &m.Performance.Window, false)
		l.duration(p, "delay", &m.Performance.Delay, true)
	}

	if items, ok := l.list(o, "features"); ok {
		m.Features = l.features(items, o.join("features"))
	}

	if r := l.section(o, "reference", referenceKeys, false); r != nil {
		m.Reference = l.reference(r)
	}

	if t := l.section(o, "thresholds", nil, false); t != nil {
		l.thresholds(t, m.Thresholds)
	}

	m.Sample = l.sample(o)

	if p := l.section(o, "preaggregated", preaggKeys, false); p != nil {
		m.Preaggregated = l.preaggregated(p, m)
	}

	m.Scores = l.classScores(o, m.Task, taskKnown)
	if items, ok := l.list(o, "segments"); ok {
		m.Segments = l.segments(items, o.join("segments"), m, o)
	}
	return m, nameNode
}

// preaggregated checks a model's pre-aggregation table. The interval must
// be whole seconds, because the view rounds Unix seconds, and must divide
// the window, so that the rounded window keeps its length. A sample does
// not apply: the view aggregated every row, and counts of a sampled
// reference beside unsampled current counts would mislead.
func (l *loader) preaggregated(o *object, m Model) *Preaggregated {
	p := &Preaggregated{}
	l.ident(o, "table", &p.Table, true, true)
	l.boolean(o, "operations", &p.Operations)
	if !l.duration(o, "interval", &p.Interval, false) {
		if !o.has("interval") {
			l.missing(o, "interval")
		}
		return p
	}
	f := o.fields["interval"]
	switch {
	case p.Interval%time.Second != 0:
		l.add(f.val, o.join("interval"), "must be whole seconds, got %s", describe(resolve(f.val)))
	case m.Settings.Window%p.Interval != 0:
		l.add(f.val, o.join("interval"), "must divide the model's window (%s), got %s", model.Duration(m.Settings.Window), describe(resolve(f.val)))
	}
	if m.Sample < 1 {
		l.add(o.at, o.path, "cannot be combined with sample: the aggregates cover every row")
	}
	return p
}

// predictions reads the predictions table's name and columns. A score is
// the positive class's probability, which only a binary model has.
func (l *loader) predictions(o *object, task Task, taskKnown bool) Predictions {
	var p Predictions
	l.ident(o, "table", &p.Table, true, true)
	l.ident(o, "timestamp", &p.Timestamp, true, false)
	l.ident(o, "id", &p.ID, true, false)
	l.ident(o, "model_column", &p.ModelColumn, false, false)
	l.ident(o, "version_column", &p.VersionColumn, false, false)
	l.ident(o, "prediction", &p.Prediction, true, false)
	if f, ok := o.get("score"); ok && taskKnown && task != TaskBinary {
		l.add(f.key, o.join("score"), "only allowed when task is %s", TaskBinary)
	} else {
		l.ident(o, "score", &p.Score, false, false)
	}
	l.ident(o, "latency", &p.Latency, false, false)
	l.ident(o, "error", &p.Error, false, false)
	return p
}

// groundTruth reads the labels table. distributed_join matters only on a
// cluster (README, "Running on a ClickHouse cluster"); auto is the default.
func (l *loader) groundTruth(o *object) *GroundTruth {
	gt := &GroundTruth{DistributedJoin: JoinAuto}
	l.ident(o, "table", &gt.Table, true, true)
	l.ident(o, "id", &gt.ID, true, false)
	l.ident(o, "label", &gt.Label, true, false)
	l.ident(o, "timestamp", &gt.Timestamp, true, false)
	if f, ok := o.get("distributed_join"); ok {
		if s, ok := l.asString(f, o.join("distributed_join")); ok {
			if !slices.Contains(joinStrategies, s) {
				l.add(f.val, o.join("distributed_join"), "must be one of %s, got %q%s", strings.Join(joinStrategies, ", "), s, suggest(s, joinStrategies))
			} else {
				gt.DistributedJoin = s
			}
		}
	}
	return gt
}

// sample reads the model's sampling ratio; 1 (every row) when absent.
func (l *loader) sample(o *object) float64 {
	f, ok := o.get("sample")
	if !ok {
		return 1
	}
	x, ok := l.asFloat(f, o.join("sample"))
	if !ok {
		return 1
	}
	if !(x > 0 && x <= 1) {
		l.add(f.val, o.join("sample"), "must be a ratio in (0, 1], got %v", x)
		return 1
	}
	return x
}
