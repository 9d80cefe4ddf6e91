#!/usr/bin/env bash
# Static checks that need no server: formatting and vet.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
# staticcheck, pinned, run from the module proxy (it is not a dependency of
# mlmon itself).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
