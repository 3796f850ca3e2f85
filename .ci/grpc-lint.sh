#!/usr/bin/env bash
# The protos of the gRPC face (schema/proto, package blaxel.jobs.v1): `buf lint` with the rules
# of schema/proto/buf.yaml, and `buf breaking` (FILE level) against the base: $GRPC_BREAKING_BASE,
# else origin/main, else main; on main itself, against the previous main commit. Skipped when
# the base has no protos yet. Needs .ci/grpc-setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
buf="$PWD/tests/grpc/node_modules/.bin/buf"
(cd schema/proto && "$buf" lint)
echo "grpc-lint: buf lint ok"
base="${GRPC_BREAKING_BASE:-}"
if [ -z "$base" ]; then
    if git rev-parse --verify --quiet origin/main >/dev/null; then base=origin/main; else base=main; fi
fi
if [ "$(git rev-parse --verify --quiet "$base^{commit}" || true)" = "$(git rev-parse HEAD)" ]; then
    base="HEAD~1"
fi
if ! git cat-file -e "$base:schema/proto/buf.yaml" 2>/dev/null; then
    echo "grpc-lint: breaking check skipped: $base has no schema/proto yet"
    exit 0
fi
"$buf" breaking schema/proto --against ".git#ref=$(git rev-parse "$base"),subdir=schema/proto"
echo "grpc-lint: buf breaking against $base ok"
