#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium (apt) and axe-core (vendored from the
# npm registry into tests/e2e/vendor/). Never downloads a browser build of its own.
# Outside CI a part that cannot be installed is a warning and those tests report themselves
# as skipped; under CI=true it is a failure (exit 1), so a CI run cannot pass without them.
set -uo pipefail
cd "$(dirname "$0")"
failed=0
problem() {
  if [ "${CI:-}" = "true" ]; then echo "ERROR: $*" >&2; failed=1
  else echo "WARNING: $* (those tests will be skipped)" >&2; fi
}

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium (apt-get)…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  fi
  command -v chromium >/dev/null 2>&1 || problem "Chromium is missing and could not be installed (as root: apt-get install chromium)"
fi

AXE=vendor/axe.min.js
axe_ok() { [ -s "$AXE" ] && grep -q "axe.version" "$AXE"; }
if ! axe_ok; then
  if command -v npm >/dev/null 2>&1; then
    echo "Vendoring axe-core from the npm registry…"
    tmp=$(mktemp -d)
    # --prefix: without it npm resolves to a parent folder's node_modules when there is one.
    if npm install --prefix "$tmp" --no-save --no-package-lock --silent --no-audit --no-fund axe-core@4 >/dev/null \
        && [ -s "$tmp/node_modules/axe-core/axe.min.js" ]; then
      mkdir -p vendor && cp "$tmp/node_modules/axe-core/axe.min.js" "$AXE"
    fi
    rm -rf "$tmp"
  fi
  axe_ok || { rm -f "$AXE"; problem "axe-core could not be vendored from the npm registry (npm install axe-core@4)"; }
fi
exit $failed
