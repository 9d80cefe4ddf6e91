#!/usr/bin/env bash
# Installs what mlmon's tests and local stack need from Debian's packages,
# only when missing: ClickHouse (server and client), Prometheus and promtool,
# Alertmanager and amtool, the Python oracles the tests compare against, and
# Chromium for the report page's tests.
set -euo pipefail

need=()
command -v clickhouse-server >/dev/null || need+=(clickhouse-server)
command -v clickhouse-client >/dev/null || need+=(clickhouse-client)
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || need+=(prometheus-alertmanager)
/usr/bin/python3 -c 'import sklearn, scipy, numpy, pandas' 2>/dev/null ||
  need+=(python3-sklearn python3-scipy python3-numpy python3-pandas)
command -v curl >/dev/null || need+=(curl)
# The report page's tests render it in headless Chromium (internal/browser).
command -v chromium >/dev/null || need+=(chromium)

if ((${#need[@]})); then
  echo "install-deps: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian packages start system services on install; mlmon runs private
# instances on its own ports and does not need them.
for svc in clickhouse-server prometheus prometheus-alertmanager prometheus-node-exporter; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
command -v go >/dev/null || { echo "install-deps: Go is required (https://go.dev/dl/)" >&2; exit 1; }
