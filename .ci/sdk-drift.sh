#!/usr/bin/env bash
# Contract drift check: runs the SDK interop tests (crates/emulator/tests/sdk.rs) with other
# releases of the official SDKs than the pinned ones, without touching the pins.
#   .ci/sdk-drift.sh                  # the newest blaxel (PyPI) and @blaxel/core (npm)
#   .ci/sdk-drift.sh 0.4.25 0.3.22    # given versions (Python, then TypeScript)
# Installs into target/sdk-drift/ (a venv, and a copy of tests/sdk/ts with its own node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
py_spec="blaxel${1:+==$1}"
ts_spec="@blaxel/core@${2:-latest}"
dir="$PWD/target/sdk-drift"  # absolute: the tests run from the crate directory
rm -rf "$dir/ts" && mkdir -p "$dir/ts"
[ -x "$dir/venv/bin/python" ] || python3 -m venv "$dir/venv"
"$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$py_spec"
cp tests/sdk/ts/interop.cjs tests/sdk/ts/package.json "$dir/ts/"
(cd "$dir/ts" && npm install --no-audit --no-fund --loglevel=error --save-exact "$ts_spec")
echo "sdk-drift: python $("$dir/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("blaxel"))'), @blaxel/core $(node -p "require('$dir/ts/node_modules/@blaxel/core/package.json').version")"
CI=true SDK_VENV="$dir/venv" SDK_TS_DIR="$dir/ts" cargo test -p blaxel-emulator --test sdk
