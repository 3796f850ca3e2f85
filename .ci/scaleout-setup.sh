#!/usr/bin/env bash
# Installs what the scale-out test (crates/gateway/tests/scaleout.rs) and deploy/scaleout.sh
# need: Debian's HAProxy, pinned to the 2.6.12 line of Debian 12 (security updates of that line
# are taken; deploy/haproxy/haproxy.cfg is written for 2.6). With CI=true the test fails rather
# than skips when haproxy is missing. Called by .ci/run before the tests. Safe to re-run.
set -euo pipefail
version='2.6.12-*'
if ! dpkg-query -W -f='${Status} ${Version}\n' haproxy 2>/dev/null | grep '^install ok installed 2\.6\.12-' >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo -n"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "haproxy=$version"
fi
# sed reads the whole output: `head -1` exits early, haproxy gets SIGPIPE and pipefail fails CI (141).
haproxy -v | sed -n 1p
