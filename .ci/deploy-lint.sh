#!/usr/bin/env bash
# Lints deploy/ with the tools of the ecosystem (tests/e2e/deploy.rs checks the same files against
# the gateway itself): the Kubernetes manifests against the API schemas of Kubernetes 1.30 (the
# oldest version they support: the preStop `sleep` action) and the newest one known, strictly
# (unknown fields fail), and deploy/Dockerfile with BuildKit's own parser. Installs the pinned
# tools of deploy/lint-requirements.txt into a virtual environment at target/deploy-venv (or
# $DEPLOY_VENV). Needs python3 (>= 3.9, with venv). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${DEPLOY_VENV:-target/deploy-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r deploy/lint-requirements.txt
manifests=()
for file in deploy/kubernetes/*.yaml; do
    # kustomization.yaml is kustomize's, not an API object.
    [ "$(basename "$file")" = kustomization.yaml ] || manifests+=("$file")
done
for version in 1.30.0 1.37.0; do
    "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "${manifests[@]}"
done
echo "deploy-lint: Kubernetes manifests valid (strict) for 1.30 and 1.37"
"$venv/bin/python" - <<'PY'
import dockerfile
commands = dockerfile.parse_file("deploy/Dockerfile")
stages = sum(c.cmd == "FROM" for c in commands)
print(f"deploy-lint: deploy/Dockerfile parses (BuildKit parser): {len(commands)} instructions, {stages} stages")
PY
