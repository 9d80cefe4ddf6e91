package config

import (
	"fmt"
	"math"

	"gopkg.in/yaml.v3"
)

// loader applies mlmon's schema to a YAML tree: which sections exist,
// their defaults, what each value may be and how keys constrain each
// other. Keys are declared by the yaml tags in config.go; the rules
// between them stay here, in code, because no tag can say "score only for
// binary models" or "exactly one kind of reference".
type loader struct {
	walker
	opts options
}

// The keys each section accepts, in field order, which is the order
// suggestions break ties in.
var (
	rootKeys        = keysOf[Config]()
	clickhouseKeys  = keysOf[ClickHouse]()
	tlsKeys         = keysOf[TLS]()
	settingsKeys    = keysOf[Settings]()
	modelKeys       = keysOf[Model]()
	predictionsKeys = keysOf[Predictions]()
	groundTruthKeys = keysOf[GroundTruth]()
	performanceKeys = keysOf[Performance]()
	featureKeys     = keysOf[Feature]()
	referenceKeys   = keysOf[Reference]()
	preaggKeys      = keysOf[Preaggregated]()
	segmentKeys     = keysOf[Segment]()
)

func (l *loader) config(root *yaml.Node) *Config {
	cfg := &Config{Defaults: DefaultSettings()}
	r := resolve(root)
	if r == nil || r.Kind != yaml.MappingNode {
		l.add(root, "", "the configuration must be a mapping with clickhouse and models, got %s", describe(r))
		return cfg
	}
	o := l.object(root, root, "", rootKeys)

	if ch := l.section(o, "clickhouse", clickhouseKeys, true); ch != nil {
		cfg.ClickHouse = l.clickhouse(ch)
	}
	if d := l.section(o, "defaults", settingsKeys, false); d != nil {
		l.settings(d, &cfg.Defaults)
	}

	f, ok := o.get("models")
	if !ok {
		l.add(root, "models", "no models configured")
		return cfg
	}
	items, ok := l.list(o, "models")
	if !ok {
		return cfg
	}
	if len(items) == 0 {
		l.add(f.val, "models", "no models configured")
		return cfg
	}
	names := map[string]int{} // name -> line of first use
	for i, item := range items {
		path := fmt.Sprintf("models[%d]", i)
		m, nameNode := l.model(item, path, cfg.Defaults)
		if m.Name != "" {
			if first, dup := names[m.Name]; dup {
				l.add(nameNode, path+".name", "duplicate model name %q (first at line %d)", m.Name, first)
			} else {
				names[m.Name] = nameNode.Line
			}
		}
		cfg.Models = append(cfg.Models, m)
	}
	return cfg
}

// settings applies the settings keys present in o on top of s.
func (l *loader) settings(o *object, s *Settings) {
	l.duration(o, "window", &s.Window, false)
	l.duration(o, "delay", &s.Delay, true)
	l.intRange(o, "bins", &s.Bins, 2, 100)
	l.intRange(o, "max_categories", &s.MaxCategories, 1, 1000)
	l.intRange(o, "min_samples", &s.MinSamples, 1, math.MaxInt)
	l.intRange(o, "max_classes", &s.MaxClasses, 2, 1000)
	l.boolean(o, "export_bins", &s.ExportBins)
	l.boolean(o, "export_categories", &s.ExportCategories)
}
