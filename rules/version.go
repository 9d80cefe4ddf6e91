package rules

// Version is the semantic version of the rules bundle. The exporter reports
// it in mlmon_build_info{rules_version}, so an alert can tell when the rules
// Prometheus loaded and the running exporter disagree.
const Version = "0.1.0"
