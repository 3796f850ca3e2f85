#!/usr/bin/env bash
# Installs the pinned official Blaxel SDKs that crates/emulator/tests/sdk.rs drives against the
# emulator: a Python virtual environment at target/sdk-venv (blaxel, versions in
# tests/sdk/python/requirements.txt, every dependency pinned by constraints.txt) and
# tests/sdk/ts/node_modules (npm ci from package-lock.json); and the reference GraphQL
# subscription clients (graphql-ws, graphql-sse) that tests/e2e/live_clients.rs drives, in
# tests/interop/live/node_modules (npm ci).
# Needs python3 (>= 3.10, with venv) and node (>= 18) with npm. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SDK_VENV:-target/sdk-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r tests/sdk/python/requirements.txt -c tests/sdk/python/constraints.txt
(cd tests/sdk/ts && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/interop/live && npm ci --no-audit --no-fund --loglevel=error)
echo "sdk-setup: python $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("blaxel"))'), @blaxel/core $(node -p 'require("./tests/sdk/ts/node_modules/@blaxel/core/package.json").version')"
