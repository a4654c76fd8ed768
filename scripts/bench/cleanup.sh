#!/usr/bin/env bash
# Benchmark: `auto-etl cleanup` against `docker-compose down -v --remove-orphans`
# on the same compose project: 24 containers (busybox, `sleep 3600`), 12 named
# volumes and the project network. Prints both times and the ratio; exits 1
# when the ratio is above the target (default 0.5).
#
#   scripts/bench/cleanup.sh            # RUNS=3 TARGET=0.5 to change
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUNS="${RUNS:-1}"
TARGET="${TARGET:-0.5}"
SERVICES=24
VOLUMES=12
PROJECT="aetl-bench-$$"
WORK="$(mktemp -d)"
COMPOSE_FILE="$WORK/docker-compose.yml"
BIN="$ROOT/target/release/auto-etl"

cleanup_all() {
    docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup_all EXIT

"$ROOT/scripts/test-image.sh" >/dev/null
(cd "$ROOT" && cargo build --release --quiet)

{
    echo 'version: "2.4"'
    echo 'services:'
    for i in $(seq -w 1 "$SERVICES"); do
        v=$(printf '%02d' $(( (10#$i - 1) % VOLUMES + 1 )))
        echo "  s$i:"
        echo "    image: auto-etl-test/busybox:latest"
        echo "    command: [\"sleep\", \"3600\"]"
        echo "    volumes: [\"v$v:/data\"]"
    done
    echo 'volumes:'
    for i in $(seq -w 1 "$VOLUMES"); do echo "  v$i:"; done
} >"$COMPOSE_FILE"

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
up() {
    docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" up -d >/dev/null 2>&1
    local n
    n=$(docker ps -q --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
    [ "$n" -eq "$SERVICES" ] || { echo "bench: expected $SERVICES running containers, got $n" >&2; exit 1; }
}
left() {
    local f="label=com.docker.compose.project=$PROJECT"
    echo $(( $(docker ps -aq --filter "$f" | wc -l) + $(docker network ls -q --filter "$f" | wc -l) \
        + $(docker volume ls -q --filter "$f" | wc -l) ))
}

total_compose=0
total_agent=0
for run in $(seq 1 "$RUNS"); do
    up
    t0=$(now)
    docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" down -v --remove-orphans >/dev/null 2>&1
    t1=$(now)
    [ "$(left)" -eq 0 ] || { echo "bench: compose down left resources behind" >&2; exit 1; }

    up
    t2=$(now)
    "$BIN" cleanup --project "$PROJECT" >/dev/null
    t3=$(now)
    [ "$(left)" -eq 0 ] || { echo "bench: auto-etl cleanup left resources behind" >&2; exit 1; }

    compose=$(calc "$t1 - $t0")
    agent=$(calc "$t3 - $t2")
    printf 'run %d: docker-compose down -v --remove-orphans %6.2fs   auto-etl cleanup %6.2fs\n' "$run" "$compose" "$agent"
    total_compose=$(calc "$total_compose + $compose")
    total_agent=$(calc "$total_agent + $agent")
done

ratio=$(calc "$total_agent / $total_compose")
printf '%d containers, %d named volumes, 1 network, %d run(s)\n' "$SERVICES" "$VOLUMES" "$RUNS"
printf 'docker-compose down: %.2fs   auto-etl cleanup: %.2fs   ratio: %.3f (target <= %s)\n' \
    "$(calc "$total_compose / $RUNS")" "$(calc "$total_agent / $RUNS")" "$ratio" "$TARGET"
if awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r <= t) }'; then
    echo "PASS"
else
    echo "FAIL: ratio above target"
    exit 1
fi
