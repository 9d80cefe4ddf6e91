#!/usr/bin/env bash
# Stops the local stack started by up.sh and removes its state.
set -uo pipefail
state=${MLMON_LOCAL_DIR:-/tmp/mlmon-local}
for name in prometheus alertmanager exporter demodata clickhouse; do
  pidfile="$state/$name.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 -- -"$pid" 2>/dev/null || true
  rm -f "$pidfile"
done
rm -rf "$state"
echo "mlmon local stack stopped"
