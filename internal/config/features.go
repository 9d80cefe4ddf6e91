package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// features reads a model's feature list. Names label the series, so they
// must be unique within the model.
// OutputFeature is the feature label of the model output's distribution
// (mlmon_feature_bin_ratio): no feature may take it.
const OutputFeature = "__prediction__"

func (l *loader) features(items []*yaml.Node, path string) []Feature {
	var features []Feature
	names := map[string]int{} // name -> line of first use
	for i, item := range items {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if isNull(resolve(item)) {
			l.add(item, ipath, "must be a mapping, got null")
			continue
		}
		o := l.object(item, item, ipath, featureKeys)
		if o == nil {
			continue
		}
		var f Feature
		if l.nonEmpty(o, "name", &f.Name, true) {
			n := o.fields["name"].val
			if first, dup := names[f.Name]; dup {
				l.add(n, o.join("name"), "duplicate feature name %q (first at line %d)", f.Name, first)
			} else if f.Name == OutputFeature {
				l.add(n, o.join("name"), "%q is reserved for the model output in mlmon_feature_bin_ratio; set name to another value (column may stay %s)", f.Name, f.Name)
			} else {
				names[f.Name] = n.Line
			}
		}
		if o.has("column") {
			l.ident(o, "column", &f.Column, false, false)
		} else if f.Name != "" {
			// The name doubles as the column, so it must be an identifier;
			// report it at the name, which is what the operator wrote.
			f.Column = f.Name
			if !ValidIdentifier(f.Name) {
				l.add(o.fields["name"].val, o.join("name"), "invalid identifier %q (want [A-Za-z_][A-Za-z0-9_]*, or set column to the column's name)", f.Name)
			}
		}
		if fv, ok := o.get("type"); !ok {
			l.missing(o, "type")
		} else if s, ok := l.asString(fv, o.join("type")); ok {
			switch FeatureType(s) {
			case FeatureNumeric, FeatureCategorical:
				f.Type = FeatureType(s)
			default:
				l.add(fv.val, o.join("type"), "must be %s or %s, got %q", FeatureNumeric, FeatureCategorical, s)
			}
		}
		features = append(features, f)
	}
	if len(features) == 0 {
		return nil
	}
	return features
}
