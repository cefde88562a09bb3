#!/usr/bin/env bash
# Builds the test services the suite starts that come from a language toolchain
# rather than from Debian, at the versions pinned in .ci/tools.env, into a cache
# shared by every clone (${COHO_TOOLS_DIR:-~/.cache/coho-tools}). Run by `npm test`
# (pretest) and by .ci/run before it times the suite; idempotent, silent and
# instant when everything is already built.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/tools.env
tools="${COHO_TOOLS_DIR:-$HOME/.cache/coho-tools}"

# goccy/bigquery-emulator, built from the Go module proxy (pure Go; measured
# 2026-12-07: 8.5 minutes of CPU, one compile holding 5.7 GB). Built from the
# module's own folder: `go install …@version` asks the proxy for the module's
# version list, which it refuses for this module.
emulator="$tools/bigquery-emulator-$BIGQUERY_EMULATOR_VERSION/bigquery-emulator"
if [ ! -x "$emulator" ]; then
  command -v go >/dev/null 2>&1 || { echo "coho tests: Go is needed once to build the BigQuery emulator (https://go.dev/dl/)" >&2; exit 1; }
  echo "== building the BigQuery emulator $BIGQUERY_EMULATOR_VERSION (once; several minutes)"
  mkdir -p "$(dirname "$emulator")"
  module="github.com/goccy/bigquery-emulator@$BIGQUERY_EMULATOR_VERSION"
  dir="$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  (cd "$dir" && go build -o "$emulator.partial" ./cmd/bigquery-emulator)
  mv "$emulator.partial" "$emulator"
fi
