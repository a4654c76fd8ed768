#!/usr/bin/env bash
# Runs the whole test suite as CI does: makes sure a Docker Engine and the
# locally built test image are there (no registry is needed), then runs
# every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x scripts/ensure-docker.sh ]]; then
  scripts/ensure-docker.sh
fi
cargo test --all-targets "$@"
