#!/usr/bin/env bash
# Runs the whole test suite as CI does: makes sure a Docker Engine and the
# locally built test image are there (no registry is needed), then runs
# every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x scripts/ensure-docker.sh ]]; then
  scripts/ensure-docker.sh
fi
# --- Chromium: the HTML report screenshot test (tests/suite/people.rs) ---
# fails without a browser, so the test script brings Debian's chromium.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "chromium is missing: install it (Debian: apt-get install chromium)" >&2
  fi
fi
# --- end Chromium ---
cargo test --all-targets "$@"
