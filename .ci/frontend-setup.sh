#!/usr/bin/env bash
# Installs what the browser-facing e2e tests need (tests/e2e/browser.rs): the pinned node tools
# of tests/http-audit (graphql-http's audit, playwright-core) and Debian's Chromium. With CI=true
# those tests fail rather than skip when something is missing. Called by .ci/run before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "frontend-setup: node and npm are needed (Node.js 20 or later)" >&2
  exit 1
fi
# Exact versions from package-lock.json; playwright-core downloads no browser.
npm ci --prefix tests/http-audit --no-audit --no-fund
if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
fi
/usr/bin/chromium --version
