#!/usr/bin/env bash
# Time to green on the demo pipeline (its warehouse needs ~4 s to start and a
# failed attempt leaves leftovers behind), three ways, in one run:
#   oracle  - one run of the steps with exactly the right service wait, on a
#             clean tree: what an engineer who already knows the fix does;
#   agent   - auto-etl, which has to find the fixes itself;
#   retry   - a plain loop re-running the same steps with exponential backoff
#             (1, 2, 4, 8 s), which never adapts.
# Prints each median and the agent/oracle ratio (target <= 2.0).
source "$(dirname "$0")/common.sh"
RUNS=${RUNS:-3}
build_release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

steps() {  # runs the pipeline's steps and validator once; exit 0 when green
  python3 tools/extract.py && python3 tools/transform.py &&
    python3 tools/warehouse.py && python3 tools/load.py && python3 tools/validate_etl.py
}
kill_warehouse() { pkill -f "tools/warehouse.py" 2>/dev/null || true; }

oracle=() agent=() retry=() retry_green=0
for i in $(seq "$RUNS"); do
  demo_repo "$work/oracle$i"
  (cd "$work/oracle$i" && t0=$(now) && AUTO_ETL_SERVICE_WAIT_SECS=6 steps >/dev/null 2>&1 && echo "$(now) $t0") >"$work/o" || true
  kill_warehouse
  oracle+=("$(awk '{print $1 - $2}' "$work/o")")

  demo_repo "$work/agent$i"
  t0=$(now)
  (cd "$work/agent$i" && "$BIN" --max-iterations 10 >/dev/null 2>&1)
  agent+=("$(awk -v a="$(now)" -v b="$t0" 'BEGIN {print a - b}')")

  demo_repo "$work/retry$i"
  t0=$(now) green=0
  for delay in 1 2 4 8 0; do
    if (cd "$work/retry$i" && steps >/dev/null 2>&1); then green=1; break; fi
    kill_warehouse
    sleep "$delay"
  done
  kill_warehouse
  retry+=("$(awk -v a="$(now)" -v b="$t0" 'BEGIN {print a - b}')")
  retry_green=$((retry_green + green))
done

o=$(median "${oracle[@]}") a=$(median "${agent[@]}") r=$(median "${retry[@]}")
printf 'oracle (right wait, clean tree): %6.2f s\n' "$o"
printf 'auto-etl (finds the fixes):      %6.2f s\n' "$a"
printf 'plain retry loop (5 attempts):   %6.2f s, green in %d of %d runs\n' "$r" "$retry_green" "$RUNS"
echo "ratio agent/oracle: $(ratio "$a" "$o") (target <= 2.0)"
