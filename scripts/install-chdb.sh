#!/usr/bin/env bash
# Installs chDB — the current ClickHouse engine as a shared library — for the
# compatibility test (go test -tags chdb ./internal/compat/), which runs every
# query the exporter issues on Debian's ClickHouse 18.16 and on this engine.
#
# chDB comes from the npm registry (@chdb/lib-linux-<arch>-gnu: libchdb.so and
# nothing else). It goes OUTSIDE the repository, into
#   ${MLMON_CHDB_DIR:-/opt/mlmon-chdb}/lib/libchdb.so
# and the script prints that lib directory on stdout (everything else goes to
# stderr), so `dir=$(scripts/install-chdb.sh)` works. It does nothing when
# libchdb.so is already there. npm comes from Debian when missing.
#
# The package ships no chdb.h: the test declares the few functions it calls
# itself (internal/compat/chdb.go) and loads the library with dlopen, so no
# CGO_CFLAGS/CGO_LDFLAGS are needed — only MLMON_CHDB_DIR when not the default.
#
#   MLMON_CHDB_DIR      install directory (default /opt/mlmon-chdb)
#   MLMON_CHDB_VERSION  package version (default 26.5.3)
set -euo pipefail

dir=${MLMON_CHDB_DIR:-/opt/mlmon-chdb}
version=${MLMON_CHDB_VERSION:-26.5.3}
lib="$dir/lib"

if [ -f "$lib/libchdb.so" ]; then
  echo "install-chdb: $lib/libchdb.so already installed" >&2
  echo "$lib"
  exit 0
fi

case "$(uname -m)" in
x86_64 | amd64) pkg=@chdb/lib-linux-x64-gnu ;;
aarch64 | arm64) pkg=@chdb/lib-linux-arm64-gnu ;;
*)
  echo "install-chdb: no chDB build for $(uname -m)" >&2
  exit 1
  ;;
esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v npm >/dev/null; then
  echo "install-chdb: installing nodejs and npm from Debian" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

if ! mkdir -p "$dir" 2>/dev/null || [ ! -w "$dir" ]; then
  $sudo mkdir -p "$dir"
  $sudo chown "$(id -u):$(id -g)" "$dir"
fi

# Install into a staging directory and move the package into place in one
# rename, so that an interrupted run never leaves a partial libchdb.so that
# the next run would take for an installation.
stage=$(mktemp -d "$dir/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
echo "install-chdb: npm install $pkg@$version (a 170 MB download)" >&2
npm install --prefix "$stage" --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
  "$pkg@$version" >&2
src="$stage/node_modules/$pkg"
if [ ! -f "$src/libchdb.so" ]; then
  echo "install-chdb: $pkg@$version has no libchdb.so" >&2
  exit 1
fi
rm -rf "$lib"
mv "$src" "$lib"
echo "install-chdb: installed $pkg@$version in $lib" >&2
echo "$lib"
