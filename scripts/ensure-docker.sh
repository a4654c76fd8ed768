#!/usr/bin/env bash
# Makes sure a Docker Engine answers, then builds the local test image.
#
# - engine answers: nothing to do;
# - dockerd installed but not running: start it in the background and wait;
# - docker missing: install Debian's docker.io (CI runs as root on a fresh
#   machine), then start it.
# Honours DOCKER_HOST like the docker CLI does.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
WAIT_SECS="${AUTO_ETL_DOCKER_WAIT:-60}"
LOG="${TMPDIR:-/tmp}/auto-etl-dockerd.log"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    echo "ensure-docker: docker not installed, installing docker.io" >&2
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y docker.io
fi

if ! engine_up; then
    if [ -n "${DOCKER_HOST:-}" ] && [[ "$DOCKER_HOST" != unix://* ]]; then
        echo "ensure-docker: no engine answers at DOCKER_HOST=$DOCKER_HOST and it is not local" >&2
        exit 1
    fi
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        echo "ensure-docker: starting dockerd (log: $LOG)" >&2
        if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
            $SUDO systemctl start docker || true
        fi
        if ! pgrep -x dockerd >/dev/null 2>&1; then
            # No init system to ask (a container, a CI runner): run it ourselves.
            $SUDO sh -c "nohup dockerd >'$LOG' 2>&1 &"
        fi
    fi
    for _ in $(seq 1 "$WAIT_SECS"); do
        engine_up && break
        sleep 1
    done
    if ! engine_up; then
        echo "ensure-docker: the engine did not answer within ${WAIT_SECS}s" >&2
        [ -f "$LOG" ] && tail -n 20 "$LOG" >&2
        exit 1
    fi
fi
echo "ensure-docker: engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

if ! command -v docker-compose >/dev/null 2>&1; then
    echo "ensure-docker: docker-compose not installed, installing it" >&2
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y docker-compose || \
        echo "ensure-docker: could not install docker-compose; the compose test and bench need it" >&2
fi

"$HERE/test-image.sh"
