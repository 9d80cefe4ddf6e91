// Command demodata writes realistic demo predictions and late-arriving labels
// for three models (binary with scores, multiclass, regression) into
// ClickHouse: a reference period, recent history, and with --live a steady
// stream so that dashboards move.
package main
