#!/usr/bin/env bash
# Renders a stored report as HTML (`auto-etl report --format html`) and takes
# a screenshot of it in headless Chromium, to check the page reads well.
#   scripts/screenshot-report.sh REPORT.json OUT.png [WIDTHxHEIGHT]
# The binary is $AUTO_ETL, else `auto-etl` on PATH, else target/debug's.
# Exit 3 when no Chromium is installed (Debian: apt-get install chromium).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 REPORT.json OUT.png [WIDTHxHEIGHT]" >&2
  exit 2
fi
report=$1
out=$(realpath -m "$2")
size=${3:-1280x1500}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${AUTO_ETL:-}
if [[ -z "$bin" ]]; then
  bin=$(command -v auto-etl || echo "$here/target/debug/auto-etl")
fi
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
  echo "screenshot-report: no chromium found (apt-get install chromium)" >&2
  exit 3
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" report "$report" --format html > "$tmp/report.html"
# Chromium logs harmless D-Bus and GPU complaints on stderr; keep them out of
# the way unless the screenshot fails.
if ! "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$tmp/profile" --window-size="${size/x/,}" \
  --screenshot="$out" "file://$tmp/report.html" > "$tmp/chromium.log" 2>&1 || [[ ! -s "$out" ]]; then
  cat "$tmp/chromium.log" >&2
  echo "screenshot-report: chromium did not write $out" >&2
  exit 1
fi
echo "$out"
