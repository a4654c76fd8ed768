#!/usr/bin/env bash
# Runs the whole test suite as CI does: makes sure a Docker Engine and the
# locally built test image are there (no registry is needed), then runs
# every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x scripts/ensure-docker.sh ]]; then
  scripts/ensure-docker.sh
fi

# --- Prometheus Pushgateway (issue 15, --pushgateway tests) ----------------
# tests/suite/ci_native.rs pushes to a real Pushgateway. Debian's package is
# installed when missing (CI runs as root on a fresh machine) and one is
# started on a free loopback port for the whole run; without it those tests
# start their own from PATH, and fail when there is none.
if ! command -v prometheus-pushgateway >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-pushgateway >/dev/null
  else
    echo "test.sh: prometheus-pushgateway is missing (apt-get install prometheus-pushgateway)" >&2
  fi
fi
if command -v prometheus-pushgateway >/dev/null 2>&1; then
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  prometheus-pushgateway --web.listen-address="127.0.0.1:$pg_port" >/dev/null 2>&1 &
  pg_pid=$!
  trap 'kill "$pg_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; then break; fi
    sleep 0.1
  done
  export AUTO_ETL_TEST_PUSHGATEWAY="http://127.0.0.1:$pg_port"
fi
# --- end Prometheus Pushgateway ---------------------------------------------

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
