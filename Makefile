GO ?= go

.PHONY: all build test up down bench

all: build

build:
	$(GO) build -o bin/ ./cmd/...

# The one command that runs every test (CI runs exactly this).
test:
	scripts/install-deps.sh
	scripts/install-chdb.sh >/dev/null
	scripts/check.sh
	$(GO) test -count=1 ./...
	# The same SQL on a current ClickHouse engine (chDB, through cgo).
	$(GO) test -tags chdb -count=1 ./internal/compat/ ./deploy/clickhouse/ ./cmd/mlmonbench/

# The local stack: ClickHouse with demo data, the exporter, Prometheus.
up:
	deploy/local/up.sh

down:
	deploy/local/down.sh

# Scrape cost against the floor and a naive peer, on ClickHouse 18.16 and,
# for one busy model, ClickHouse 26 through chDB (minutes; not part of test).
bench:
	scripts/install-deps.sh
	scripts/install-chdb.sh >/dev/null
	$(GO) run -tags chdb ./cmd/mlmonbench
