# syntax=docker/dockerfile:1
#
# mlmon's container images, built from the repository root:
#
#   docker build -t mlmon-exporter .                      # the exporter (the last stage)
#   docker build --target demodata -t mlmon-demodata .   # the demo data writer
#
# Build information goes into the binary (exporter --version, and the
# version and revision labels of mlmon_build_info):
#
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg BRANCH="$(git rev-parse --abbrev-ref HEAD)" \
#     --build-arg BUILD_USER="$USER@$(hostname)" --build-arg BUILD_DATE="$(date -u +%Y%m%d-%H:%M:%S)" .
#
# deploy/dockerfile_test.go runs this file's `go build` line on the host and
# checks the stamped version, the final stage and the entrypoint's flags.

# At least go.mod's go version: the golang image sets GOTOOLCHAIN=local and
# will not fetch a newer toolchain.
ARG GO_VERSION=1.26.8

# Compiled on the build machine's platform and cross-compiled for the target
# (pure Go), so multi-platform builds (--platform linux/amd64,linux/arm64)
# need no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# No separate `go mod download` layer: it would fetch every module in go.mod,
# the tests' too. The cache mounts below keep modules and build results
# between builds instead, and `go build` fetches only what it compiles.
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_USER=docker
ARG BUILD_DATE=unknown
# Static binaries: no libc in the final image. -trimpath keeps the build
# machine's paths out of the binaries.
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w \
      -X 'github.com/prometheus/common/version.Version=${VERSION}' \
      -X 'github.com/prometheus/common/version.Revision=${REVISION}' \
      -X 'github.com/prometheus/common/version.Branch=${BRANCH}' \
      -X 'github.com/prometheus/common/version.BuildUser=${BUILD_USER}' \
      -X 'github.com/prometheus/common/version.BuildDate=${BUILD_DATE}'" \
      -o /out/ ./cmd/exporter ./cmd/demodata

# Final stages: distroless static, which has CA certificates (TLS to
# ClickHouse) and time zones but no shell or package manager, and runs as the
# unprivileged user nonroot. USER is numeric so that Kubernetes can verify
# runAsNonRoot from the image.

# The demo data writer, for deploy/compose.
FROM gcr.io/distroless/static-debian12:nonroot AS demodata
COPY --from=build /out/demodata /bin/mlmon-demodata
USER 65532:65532
ENTRYPOINT ["/bin/mlmon-demodata"]

# The exporter. Last, so that a plain `docker build` builds it.
FROM gcr.io/distroless/static-debian12:nonroot AS exporter
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="mlmon exporter" \
      org.opencontainers.image.description="Prometheus exporter for ML model monitoring over ClickHouse" \
      org.opencontainers.image.source="https://github.com/mlmon/mlmon" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/exporter /bin/mlmon_exporter
USER 65532:65532
EXPOSE 9786
# Arguments given to the container (Kubernetes args, compose command) are
# appended: --web.listen-address, --log.level, --web.config.file, ...
ENTRYPOINT ["/bin/mlmon_exporter", "--config.file=/etc/mlmon/mlmon.yml"]
