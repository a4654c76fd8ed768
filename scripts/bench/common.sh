# Shared helpers for the whole-process benchmarks (sourced, not run).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="$ROOT/target/release/auto-etl"

build_release() {
  (cd "$ROOT" && cargo build --release --quiet)
}

now() { date +%s.%N; }

# median of the numbers given as arguments
median() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# A fresh git repository holding the demo pipeline, in $1.
demo_repo() {
  local dir=$1
  mkdir -p "$dir"
  cp -r "$ROOT/fixtures/demo-pipeline/." "$dir/"
  printf 'output/\ngenerated/\nlogs/\n' > "$dir/.gitignore"
  git -C "$dir" init -q
  git -C "$dir" add -A
  git -C "$dir" -c user.name=bench -c user.email=bench@localhost commit -qm demo
}
