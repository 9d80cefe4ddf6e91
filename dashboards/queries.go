package dashboards

import (
	"fmt"
	"strings"

	"github.com/mlmon/mlmon/rules"
)

// Selectors shared by the boards. Series are aggregated with max/min by the
// labels a panel shows: two exporters (replicas, or a second Prometheus
// target) report the same model, and a panel should show it once.
const (
	// ofExporter keeps the process and Go runtime series of mlmon's own
	// targets: every target exposes process_* and go_*, only mlmon's also
	// mlmon_build_info.
	ofExporter = ` and on (job, instance) mlmon_build_info`
	// thisModel and theseFeatures select the board's variables.
	thisModel     = `model="$model"`
	theseFeatures = `model="$model", feature=~"$feature"`
)

// firing selects the mlmon alerts firing now, with extra matchers.
func firing(matchers ...string) string {
	return "ALERTS{" + strings.Join(append([]string{`alertname=~"MLMon.*"`, `alertstate="firing"`}, matchers...), ", ") + "}"
}

// upMLMon is `up` of mlmon's targets, with the rules' job selector.
var upMLMon = "up{" + rules.DefaultOptions().JobSelector + "}"

// modelThreshold is a series of the alert threshold in force for the
// board's model: its configured mlmon_alert_threshold, else the rules'
// default. Plotted next to the metric, it shows where the alert fires even
// for a model that overrides the default.
func modelThreshold(name string) query {
	return query{
		expr:   fmt.Sprintf(`max(mlmon_alert_threshold{%s, threshold=%q}) or vector(%g)`, thisModel, name, ruleDefault(name)),
		legend: "alert threshold (" + name + ")",
	}
}

// perFeature is metric per selected feature of the board's model.
func perFeature(metric string) string {
	return fmt.Sprintf("max by (feature) (%s{%s})", metric, theseFeatures)
}
