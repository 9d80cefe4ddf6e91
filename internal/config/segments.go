package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// maxSegmentValues bounds max_values: every value is a series in every
// segment family.
const maxSegmentValues = 100

// segments reads a model's segment list. Names label the series, so they
// must be unique within the model. The tracked values come from the
// reference, and the current window's counts ride in the scan of the
// predictions table, so a segmented model needs a reference and cannot read
// its current window from pre-aggregated intervals (which hold no segment
// columns).
func (l *loader) segments(items []*yaml.Node, path string, m Model, mo *object) []Segment {
	var segs []Segment
	names := map[string]int{} // name -> line of first use
	if len(items) > 0 {
		if !mo.has("reference") {
			l.add(mo.fields["segments"].key, path, "requires reference: the tracked values are the reference's most frequent")
		}
		if mo.has("preaggregated") {
			l.add(mo.fields["segments"].key, path, "cannot be combined with preaggregated: the aggregates hold no segment columns")
		}
	}
	for i, item := range items {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if isNull(resolve(item)) {
			l.add(item, ipath, "must be a mapping, got null")
			continue
		}
		o := l.object(item, item, ipath, segmentKeys)
		if o == nil {
			continue
		}
		s := Segment{MaxValues: DefaultSegmentValues}
		l.ident(o, "column", &s.Column, true, false)
		nameNode := item
		if l.nonEmpty(o, "name", &s.Name, false) {
			nameNode = o.fields["name"].val
		} else if !o.has("name") {
			s.Name = s.Column
			if f, ok := o.get("column"); ok {
				nameNode = f.val
			}
		}
		if s.Name != "" {
			if first, dup := names[s.Name]; dup {
				l.add(nameNode, o.join("name"), "duplicate segment name %q (first at line %d)", s.Name, first)
			} else {
				names[s.Name] = nameNode.Line
			}
		}
		l.intRange(o, "max_values", &s.MaxValues, 1, maxSegmentValues)
		l.boolean(o, "feature_drift", &s.FeatureDrift)
		if s.FeatureDrift && len(m.Features) == 0 {
			l.add(o.fields["feature_drift"].val, o.join("feature_drift"), "needs features: the model has none to compare per segment value")
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		return nil
	}
	return segs
}
