package config

import (
	"strings"
	"time"
)

// reference reads the baseline drift is measured against (the three kinds
// are in the README, "Drift and data quality"). Its kind is which keys are
// set, and exactly one kind must be: a fixed range mixed with an offset
// would have no single meaning.
func (l *loader) reference(o *object) *Reference {
	r := &Reference{}
	fromOK := l.timeField(o, "from", &r.From)
	toOK := l.timeField(o, "to", &r.To)
	l.duration(o, "offset", &r.Offset, false)
	l.ident(o, "table", &r.Table, false, true)
	l.ident(o, "prediction", &r.Prediction, false, false)
	l.ident(o, "label", &r.Label, false, false)

	var kinds []string
	if o.has("from") || o.has("to") {
		kinds = append(kinds, "from/to")
		r.Kind = ReferenceFixed
	}
	if o.has("offset") {
		kinds = append(kinds, "offset")
		r.Kind = ReferenceRolling
	}
	if o.has("table") {
		kinds = append(kinds, "table")
		r.Kind = ReferenceTable
	}
	if len(kinds) != 1 {
		msg := "must set exactly one of from/to, offset or table"
		if n := len(kinds); n > 1 {
			msg += ", got " + strings.Join(kinds[:n-1], ", ") + " and " + kinds[n-1]
		}
		l.add(o.at, o.path, "%s", msg)
	}

	switch {
	case o.has("from") && !o.has("to"):
		l.add(o.fields["from"].key, o.join("to"), "required when from is set")
	case o.has("to") && !o.has("from"):
		l.add(o.fields["to"].key, o.join("from"), "required when to is set")
	case fromOK && toOK && !r.From.Before(r.To):
		l.add(o.fields["to"].val, o.join("to"), "must be after from (%s)", r.From.Format(time.RFC3339))
	}
	if !o.has("table") {
		for _, k := range []string{"prediction", "label"} {
			if f, ok := o.get(k); ok {
				l.add(f.key, o.join(k), "only allowed with %s", o.join("table"))
			}
		}
	}
	return r
}
