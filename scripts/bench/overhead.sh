#!/usr/bin/env bash
# Agent overhead: startup (`auto-etl --version`) and, per iteration,
# everything but the pipeline's own steps, the backoff sleep and Docker
# (checkpoint, file cleanup, spawning, log pump, classification, verify,
# report). Docker is taken out by pointing DOCKER_HOST at a socket that does
# not exist. Targets: startup <= 5 ms, per-iteration overhead <= 50 ms.
source "$(dirname "$0")/common.sh"
build_release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

hyperfine --warmup 5 --runs 50 -N --export-json "$work/startup.json" "$BIN --version" "true" >/dev/null
startup_ms=$(python3 -c "import json,sys; r=json.load(open('$work/startup.json'))['results']; print(round(r[0]['median']*1000, 2), round(r[1]['median']*1000, 2))")

mkdir -p "$work/p"
cat >"$work/p/auto-etl.toml" <<'TOML'
[orchestrator]
command = "echo ✅ done"
[cycle]
max_iterations = 1
[verify]
expected_files = ["data.csv"]
[cleanup]
paths = ["generated"]
TOML
echo "a,b" >"$work/p/data.csv"
git -C "$work/p" init -q && git -C "$work/p" add -A && git -C "$work/p" -c user.name=b -c user.email=b@l commit -qm p
per_iter=()
for i in $(seq 15); do
  (cd "$work/p" && DOCKER_HOST=unix:///nonexistent.sock "$BIN" --format json >"$work/r.json" 2>/dev/null) || true
  per_iter+=("$(python3 -c "
import json; r=json.load(open('$work/r.json')); c=r['cycles'][0]
steps=sum(s['duration_ms'] for s in c['steps'])
print(round(c['duration_seconds']*1000 - steps, 1))")")
done
read -r agent_ms true_ms <<<"$startup_ms"
echo "startup: auto-etl --version ${agent_ms} ms (true: ${true_ms} ms), target <= 5 ms"
echo "per-iteration overhead (median of 15): $(median "${per_iter[@]}") ms, target <= 50 ms"
