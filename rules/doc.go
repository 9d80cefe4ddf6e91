// Package rules is the source of truth of mlmon's alerting and recording
// rules.
package rules
