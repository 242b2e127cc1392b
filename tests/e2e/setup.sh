#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium and axe-core (vendored from npm).
# Never downloads a browser build of its own. Where something cannot be installed, the
# browser tests report themselves as skipped with the reason (tests/e2e/conftest.py).
set -u
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium (apt-get)…"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null) \
      || echo "WARNING: could not install chromium; browser tests will be skipped."
  else
    echo "WARNING: chromium missing and not root; run: sudo apt-get install chromium"
  fi
fi
if [ ! -f vendor/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "Vendoring axe-core from the npm registry…"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm install --silent --no-audit --no-fund axe-core@4 >/dev/null 2>&1) \
      && mkdir -p vendor && cp "$tmp/node_modules/axe-core/axe.min.js" vendor/axe.min.js \
      || echo "WARNING: could not fetch axe-core; accessibility tests will be skipped."
    rm -rf "$tmp"
  else
    echo "WARNING: npm missing; accessibility tests will be skipped."
  fi
fi
exit 0
