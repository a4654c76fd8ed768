#!/usr/bin/env bash
# The composite action's run step: auto-etl with the action's inputs, then
# the step outputs status, stop-code and report-path (relative to the
# workspace) whatever the verdict; the step's exit code is auto-etl's.
#
# Inputs come as INPUT_CONFIG, INPUT_MAX_ITERATIONS and INPUT_ARGS.
set -uo pipefail

args=(--junit logs/junit.xml)
if [[ -n ${INPUT_CONFIG:-} ]]; then
  args+=(--config "$INPUT_CONFIG")
fi
if [[ -n ${INPUT_MAX_ITERATIONS:-} ]]; then
  args+=(--max-iterations "$INPUT_MAX_ITERATIONS")
fi
read -r -a extra <<<"${INPUT_ARGS:-}"
auto-etl "${args[@]}" "${extra[@]}"
code=$?

report="$(find logs -maxdepth 1 -name 'auto_cycle_report_*.json' 2>/dev/null | sort | tail -n 1)"
status=""
stop=""
if [[ -n $report ]]; then
  status="$(sed -n 's/^ *"status": *"\([a-z_]*\)".*/\1/p' "$report" | head -n 1)"
  stop="$(sed -n 's/^ *"stop_code": *"\([a-z_]*\)".*/\1/p' "$report" | head -n 1)"
  # Relative to the workspace, without realpath (macOS has no --relative-to).
  report="$PWD/${report#./}"
  report="${report#"${GITHUB_WORKSPACE:-$PWD}"/}"
fi
if [[ -z $stop ]]; then
  # A report without stop_code (or none at all): the exit code says it.
  case $code in
    0) stop=green ;;
    1) stop=max_iterations ;;
    3) stop=non_retryable ;;
    130 | 143) stop=interrupted ;;
    *) stop=error ;;
  esac
fi
{
  echo "status=${status:-error}"
  echo "stop-code=$stop"
  echo "report-path=$report"
} >>"${GITHUB_OUTPUT:-/dev/null}"
exit "$code"
