package promqlnames

import (
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/promql/parser"
)

// MetricNames returns the metric names expr selects, sorted and without
// repeats. An expression PromQL does not accept is an error, and so is a
// selector without a metric name ({__name__=~"…"}): the metric it reads
// cannot be checked.
func MetricNames(expr string) ([]string, error) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", expr, err)
	}
	var names []string
	err = nil
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || err != nil {
			return nil
		}
		if vs.Name == "" {
			err = fmt.Errorf("%s: selector without a metric name: not supported by this check", vs)
			return nil
		}
		if !slices.Contains(names, vs.Name) {
			names = append(names, vs.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}
