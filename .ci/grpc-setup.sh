#!/usr/bin/env bash
# Installs what the gRPC face's checks and tests need, pinned: the buf CLI (npm @bufbuild/buf,
# a real binary, from tests/grpc/package-lock.json) and a Python virtual environment at
# target/grpc-venv (or $GRPC_VENV) with grpcio, grpcio-reflection, grpcio-status and
# grpcio-health-checking (tests/grpc/requirements.txt) for tests/e2e/grpc/interop.rs.
# Needs python3 (>= 3.9, with venv) and node (>= 18) with npm. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd tests/grpc && npm ci --no-audit --no-fund --loglevel=error)
venv="${GRPC_VENV:-target/grpc-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/grpc/requirements.txt
echo "grpc-setup: buf $(tests/grpc/node_modules/.bin/buf --version), grpcio $("$venv/bin/python" -c 'import grpc; print(grpc.__version__)')"
