// Package alertmanager is mlmon's Alertmanager bundle: alertmanager.yml (the
// routes per alert tier, inhibitions and receivers), routes-snippet.yml (the
// same, to merge into an existing configuration) and templates/mlmon.tmpl.
//
// It holds no code: its tests check those files with amtool and drive a real
// Alertmanager with them.
package alertmanager
