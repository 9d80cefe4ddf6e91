#!/usr/bin/env bash
# Brings up mlmon's local stack on a bare machine, everything on loopback:
# ClickHouse (private instance) with the demo tables and live demo data, the
# exporter, and Prometheus scraping it. Stop it with deploy/local/down.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/deploy/local"
state=${MLMON_LOCAL_DIR:-/tmp/mlmon-local}
ch_tcp=19000 ch_http=18123 exporter=9786 prom=9090 am=9093

"$root/scripts/install-deps.sh"
"$here/down.sh" >/dev/null 2>&1 || true
for port in $ch_tcp $ch_http $exporter $prom $am; do
  if (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "up.sh: 127.0.0.1:$port is already in use; stop what listens there first" >&2
    exit 1
  fi
done
mkdir -p "$state"/{clickhouse/tmp,clickhouse/user_files,clickhouse/format_schemas,prometheus,alertmanager/secrets,bin}

echo "building mlmon"
(cd "$root" && go build -o "$state/bin/" ./cmd/exporter ./cmd/demodata)

# start runs a daemon in its own session with its output in $state/NAME.log,
# closing every inherited descriptor so that no caller's pipe is held open.
start() { # name, command...
  local name=$1; shift
  (
    for fd in /proc/self/fd/*; do
      n=${fd##*/}
      [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null
    done
    exec setsid "$@" </dev/null >"$state/$name.log" 2>&1
  ) &
  echo $! >"$state/$name.pid"
}

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 120); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "up.sh: $name did not come up; logs in $state" >&2
  exit 1
}

echo "starting ClickHouse on 127.0.0.1:$ch_tcp"
start clickhouse clickhouse-server --config-file=/etc/clickhouse-server/config.xml -- \
  --path="$state/clickhouse/" --tmp_path="$state/clickhouse/tmp/" \
  --user_files_path="$state/clickhouse/user_files/" --format_schema_path="$state/clickhouse/format_schemas/" \
  --tcp_port=$ch_tcp --http_port=$ch_http --interserver_http_port=19009 --listen_host=127.0.0.1 \
  --logger.log="$state/clickhouse/server.log" --logger.errorlog="$state/clickhouse/server.err.log"
wait_for ClickHouse clickhouse-client --port $ch_tcp -q "SELECT 1"
clickhouse-client --port $ch_tcp --multiquery <"$root/deploy/clickhouse/schema.sql"

echo "seeding demo data (reference period and 6h of history), then streaming"
start demodata "$state/bin/demodata" --clickhouse.addr=127.0.0.1:$ch_tcp --history=6h --rate=1 --live --drift=0.6 --drift.period=4h
wait_for "demo data" grep -q "wrote reference" "$state/demodata.log"

echo "starting the exporter on 127.0.0.1:$exporter"
start exporter "$state/bin/exporter" --config.file="$here/mlmon.yml" --web.listen-address=127.0.0.1:$exporter
wait_for exporter curl -sf "http://127.0.0.1:$exporter/-/ready"

echo "starting Alertmanager on 127.0.0.1:$am"
# The shipped routes, with placeholder secrets: notifications to the pager,
# chat and ticket endpoints fail here (nothing listens), but every alert is
# routed, grouped and inhibited as in production and visible in the UI.
cp "$root"/alertmanager/testdata/secrets/* "$state/alertmanager/secrets/"
sed "s#/etc/alertmanager/secrets/mlmon/#$state/alertmanager/secrets/#g" "$root/alertmanager/alertmanager.yml" \
  >"$state/alertmanager/alertmanager.yml"
mkdir -p "$state/alertmanager/templates" && cp "$root"/alertmanager/templates/* "$state/alertmanager/templates/"
start alertmanager prometheus-alertmanager --config.file="$state/alertmanager/alertmanager.yml" \
  --storage.path="$state/alertmanager/data" --web.listen-address=127.0.0.1:$am --cluster.listen-address=
wait_for Alertmanager curl -sf "http://127.0.0.1:$am/-/ready"

echo "starting Prometheus on 127.0.0.1:$prom"
start prometheus prometheus --config.file="$here/prometheus.yml" --storage.tsdb.path="$state/prometheus" \
  --web.listen-address=127.0.0.1:$prom --web.enable-lifecycle
wait_for Prometheus curl -sf "http://127.0.0.1:$prom/-/ready"

cat <<MSG

mlmon local stack is up (state and logs in $state):
  ClickHouse   127.0.0.1:$ch_tcp (native), http://127.0.0.1:$ch_http   clickhouse-client --port $ch_tcp
  exporter     http://127.0.0.1:$exporter/metrics
  Prometheus   http://127.0.0.1:$prom   (try: mlmon_accuracy_ratio; alerts: http://127.0.0.1:$prom/alerts)
  Alertmanager http://127.0.0.1:$am
Stop it with: make down
MSG
