package config

import (
	"slices"
)

// classScores reads a multiclass model's scores: {class: column, …}, one
// probability column per class. The classes are label values (any
// non-empty string); the columns are identifiers, one per class. A
// mapping of fewer than two classes cannot be a multiclass model's.
func (l *loader) classScores(o *object, task Task, taskKnown bool) map[string]string {
	f, ok := o.get("scores")
	if !ok {
		return nil
	}
	path := o.join("scores")
	if taskKnown && task != TaskMulticlass {
		l.add(f.key, path, "only allowed when task is %s (a binary model's score is predictions.score)", TaskMulticlass)
		return nil
	}
	s := l.object(f.val, f.key, path, nil)
	if s == nil {
		return nil
	}
	out := map[string]string{}
	columns := map[string]int{} // column -> line of first use
	for _, class := range s.keys {
		cf := s.fields[class]
		cpath := s.join(class)
		if class == "" {
			l.add(cf.key, cpath, "class must not be empty")
			continue
		}
		// Read from the fields, not get: the classes are values, not keys of
		// the schema.
		if isNull(resolve(cf.val)) {
			l.add(cf.val, cpath, "must name the class's probability column, got null")
			continue
		}
		col, ok := l.asString(cf, cpath)
		if !ok {
			continue
		}
		if !ValidIdentifier(col) {
			l.checkIdent(cf.val, cpath, col, false)
			continue
		}
		if first, dup := columns[col]; dup {
			l.add(cf.val, cpath, "column %q is already the score of another class (line %d)", col, first)
			continue
		}
		columns[col] = cf.val.Line
		out[class] = col
	}
	if len(s.keys) < 2 {
		l.add(f.key, path, "must map at least two classes to their probability columns, got %d", len(s.keys))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ScoreClasses lists the classes of m.Scores in sorted order, the order
// every multiclass score aggregate uses; nil without scores.
func (m *Model) ScoreClasses() []string {
	if len(m.Scores) == 0 {
		return nil
	}
	classes := make([]string, 0, len(m.Scores))
	for c := range m.Scores {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	return classes
}
