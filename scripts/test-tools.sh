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

# The Snowflake stand-in the test harness starts (test/helpers/fakesnow.ts): fakesnow at
# the version pinned in .ci/tools.env, with its dependencies pinned, in a virtual
# environment of its own. Without python3-venv (Debian splits it out) the packages go
# to a plain folder instead, run through a small wrapper.
fakesnow="$tools/fakesnow-$FAKESNOW_VERSION"
requirements="test/helpers/fakesnow-requirements.txt"
wanted="$(sha256sum "$requirements" | cut -c1-16)"
if [ "$(cat "$fakesnow/.requirements" 2>/dev/null)" != "$wanted" ]; then
  echo "== installing fakesnow $FAKESNOW_VERSION"
  rm -rf "$fakesnow" "$fakesnow.partial"
  if ! python3 -m venv "$fakesnow.partial" >/dev/null 2>&1; then
    rm -rf "$fakesnow.partial"
    # Debian ships venv apart (python3-venv); installing it needs root, as on CI.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; } || true
    fi
  fi
  if [ -d "$fakesnow.partial" ] || python3 -m venv "$fakesnow.partial" >/dev/null 2>&1; then
    "$fakesnow.partial/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
  else
    rm -rf "$fakesnow.partial" && mkdir -p "$fakesnow.partial/bin"
    python3 -m pip install -q --disable-pip-version-check --target "$fakesnow.partial/site" -r "$requirements"
    printf '#!/bin/sh\nPYTHONPATH="%s/site" exec python3 "$@"\n' "$fakesnow" > "$fakesnow.partial/bin/python"
    chmod +x "$fakesnow.partial/bin/python"
  fi
  echo "$wanted" > "$fakesnow.partial/.requirements"
  mv "$fakesnow.partial" "$fakesnow"
fi
