#!/usr/bin/env bash
# Times checkpoint() (ref mode) against `git add -A && git commit` on
# identical copies of a 10,000-file repository with 100 changed files, and
# prints the ratio (target: <= 1.0).
#
#   scripts/bench/checkpoint.sh            # 10,000 files, 100 changed
#   FILES=50000 CHANGED=500 scripts/bench/checkpoint.sh
#   QUICK=1 scripts/bench/checkpoint.sh    # shorter measurement
set -euo pipefail
cd "$(dirname "$0")/../.."

export AUTO_ETL_BENCH_FILES="${FILES:-10000}"
export AUTO_ETL_BENCH_CHANGED="${CHANGED:-100}"
args=()
if [[ -n "${QUICK:-}" ]]; then
  args+=(--measurement-time 3 --warm-up-time 1)
fi
# The last line printed is the comparison: "checkpoint(): … ratio: R".
cargo bench --bench checkpoint -- ${args[@]+"${args[@]}"}
