package config

import (
	"math"
	"time"

	"gopkg.in/yaml.v3"
)

// Scalar conversions. Each reports a problem and returns false when the
// value has the wrong type.

func (w *walker) asString(f field, path string) (string, bool) {
	v := resolve(f.val)
	if v == nil || v.Kind != yaml.ScalarNode {
		w.add(f.val, path, "must be a string, got %s", describe(v))
		return "", false
	}
	// Any scalar is accepted and its text kept verbatim, so that
	// positive_class: 1 means the label "1" rather than a type error.
	return v.Value, true
}

func (w *walker) asInt(f field, path string) (int, bool) {
	v := resolve(f.val)
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		w.add(f.val, path, "must be an integer, got %s", describe(v))
		return 0, false
	}
	var i int
	if err := v.Decode(&i); err != nil {
		w.add(f.val, path, "integer out of range: %s", describe(v))
		return 0, false
	}
	return i, true
}

func (w *walker) asFloat(f field, path string) (float64, bool) {
	v := resolve(f.val)
	if v == nil || v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
		w.add(f.val, path, "must be a number, got %s", describe(v))
		return 0, false
	}
	var x float64
	if err := v.Decode(&x); err != nil {
		w.add(f.val, path, "must be a number, got %s", describe(v))
		return 0, false
	}
	return x, true
}

func (w *walker) asBool(f field, path string) (bool, bool) {
	v := resolve(f.val)
	// yaml.v3 would turn "yes" or "on" into true when decoding into a bool;
	// the tag check keeps to true and false only.
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		w.add(f.val, path, "must be true or false, got %s", describe(v))
		return false, false
	}
	var b bool
	if err := v.Decode(&b); err != nil {
		w.add(f.val, path, "must be true or false, got %s", describe(v))
		return false, false
	}
	return b, true
}

func (w *walker) asDuration(f field, path string) (time.Duration, bool) {
	v := resolve(f.val)
	if v != nil && v.Kind == yaml.ScalarNode {
		if d, err := parseDuration(v.Value); err == nil {
			return d, true
		}
	}
	w.add(f.val, path, "must be a duration such as 30s, 5m, 1h or 1d, got %s", describe(v))
	return 0, false
}

func (w *walker) asTime(f field, path string) (time.Time, bool) {
	v := resolve(f.val)
	if v != nil && v.Kind == yaml.ScalarNode {
		if t, err := time.Parse(time.RFC3339, v.Value); err == nil {
			return t, true
		}
	}
	w.add(f.val, path, "must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z, got %s", describe(v))
	return time.Time{}, false
}

// Typed getters: each leaves *dst unchanged unless key is present and
// valid, so callers preset defaults.

func (w *walker) str(o *object, key string, dst *string) bool {
	f, ok := o.get(key)
	if !ok {
		return false
	}
	s, ok := w.asString(f, o.join(key))
	if ok {
		*dst = s
	}
	return ok
}

func (w *walker) boolean(o *object, key string, dst *bool) {
	if f, ok := o.get(key); ok {
		if b, ok := w.asBool(f, o.join(key)); ok {
			*dst = b
		}
	}
}

// intRange reads an integer in [lo, hi].
func (w *walker) intRange(o *object, key string, dst *int, lo, hi int) {
	f, ok := o.get(key)
	if !ok {
		return
	}
	i, ok := w.asInt(f, o.join(key))
	switch {
	case !ok:
	case i < lo || i > hi:
		if hi == math.MaxInt {
			w.add(f.val, o.join(key), "must be at least %d, got %d", lo, i)
		} else {
			w.add(f.val, o.join(key), "must be between %d and %d, got %d", lo, hi, i)
		}
	default:
		*dst = i
	}
}

// duration reads a duration, which must be positive unless allowZero.
// Prometheus syntax has no sign, so negative values never parse.
func (w *walker) duration(o *object, key string, dst *time.Duration, allowZero bool) bool {
	f, ok := o.get(key)
	if !ok {
		return false
	}
	d, ok := w.asDuration(f, o.join(key))
	if !ok {
		return false
	}
	if d == 0 && !allowZero {
		w.add(f.val, o.join(key), "must be greater than 0")
		return false
	}
	*dst = d
	return true
}

// nonEmpty reads a string that must not be empty.
func (w *walker) nonEmpty(o *object, key string, dst *string, required bool) bool {
	f, ok := o.get(key)
	if !ok {
		if required && o != nil {
			w.missing(o, key)
		}
		return false
	}
	s, ok := w.asString(f, o.join(key))
	if !ok {
		return false
	}
	if s == "" {
		w.add(f.val, o.join(key), "must not be empty")
		return false
	}
	*dst = s
	return true
}

// list returns the items of the sequence under key, nil if absent or not a
// list.
func (w *walker) list(o *object, key string) ([]*yaml.Node, bool) {
	f, ok := o.get(key)
	if !ok {
		return nil, false
	}
	v := resolve(f.val)
	if v.Kind != yaml.SequenceNode {
		w.add(f.val, o.join(key), "must be a list, got %s", describe(v))
		return nil, false
	}
	return v.Content, true
}

func (w *walker) timeField(o *object, key string, dst *time.Time) bool {
	f, ok := o.get(key)
	if !ok {
		return false
	}
	t, ok := w.asTime(f, o.join(key))
	if ok {
		*dst = t
	}
	return ok
}
