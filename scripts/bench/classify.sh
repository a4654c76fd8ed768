#!/usr/bin/env bash
# Log scraping: `auto-etl classify` against ripgrep (`rg -i -c -f patterns`)
# and GNU grep (`grep -P -i -c` with the same patterns as one alternation)
# over a 1 GiB orchestrator log (mostly ordinary INFO lines, a few real
# errors), each pinned to one core; then throughput with 50 more user rules,
# and peak RSS from 1 MB to 10 GB of input streamed through stdin.
# Targets: time ratio vs ripgrep <= 1.0, > 1 GB/s, RSS flat and <= 64 MB,
# no throughput drop with +50 rules.
source "$(dirname "$0")/common.sh"
RUNS=${RUNS:-3}
SIZES=${SIZES:-"1e6 1e8 1e9 1e10"}
# ripgrep is the reference; a fresh machine lacks it. As root, install
# Debian's package; otherwise say what is missing rather than fail later.
if ! command -v rg >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null
  fi
  command -v rg >/dev/null || { echo "classify.sh: ripgrep (rg) is missing: install the ripgrep package" >&2; exit 1; }
fi
build_release
data="$ROOT/target/bench-data"
mkdir -p "$data"
log="$data/etl-1g.log"
[[ -s $log ]] || python3 "$ROOT/scripts/bench/make_log.py" 1073741824 >"$log"
bytes=$(stat -c %s "$log")
cat "$log" >/dev/null # warm the page cache for every tool alike

# Group names dropped: rules name a group per alternative (`subject`, `p2`,
# ...), and in one alternation of all rules two would share a name, which
# `grep -P` rejects; rg and grep so get the same regexes, without names.
"$BIN" rules --format json | python3 -c '
import json, re, sys
rules = [r for r in json.load(sys.stdin) if r["source"] == "builtin"]
for r in rules:
    r["pattern"] = re.sub(r"\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>", "(?:", r["pattern"])
open(sys.argv[1], "w").write("\n".join(r["pattern"] for r in rules) + "\n")
open(sys.argv[2], "w").write("|".join("(?:%s)" % r["pattern"] for r in rules))
print(len(rules), "patterns")' "$data/patterns.txt" "$data/patterns.pcre"

python3 - "$data/extra-rules.toml" <<'PY'
import sys
words = ["kafka", "broker", "rebalance", "offset", "partition", "schema", "registry", "airbyte", "fivetran",
         "snowflake", "bigquery", "redshift", "athena", "glue", "presto", "trino", "hive", "iceberg", "delta",
         "parquet", "avro", "orc", "s3", "gcs", "azure", "lambda", "dagster", "prefect", "luigi", "nifi",
         "flink", "beam", "dataflow", "kinesis", "pubsub", "rabbitmq", "celery", "redis", "mongo", "cassandra",
         "elastic", "opensearch", "vault", "ldap", "oauth", "saml", "sftp", "ftp", "smtp", "webhook"]
with open(sys.argv[1], "w") as f:
    for i, w in enumerate(words):
        f.write(f"[[rules]]\nid = \"user-{i}\"\nclass = \"user_{w}\"\npattern = '(?i){w} (?:failure|fatal) code \\\\d+'\n\n")
PY

measure() { python3 "$ROOT/scripts/bench/measure.py" "$1"; }
# The four commands take turns, RUNS rounds, so that a load spike on the
# machine hits them alike; each gets its median time and its largest RSS.
cmds=(
  "taskset -c 0 $BIN classify $log"
  "taskset -c 0 $BIN classify --rules $data/extra-rules.toml $log"
  "taskset -c 0 rg -j1 -i -c -f $data/patterns.txt $log"
  "taskset -c 0 grep -P -i -c -f $data/patterns.pcre $log"
)
declare -a secs rss
for _ in $(seq "$RUNS"); do
  for i in "${!cmds[@]}"; do
    out=$(measure "${cmds[$i]}")
    secs[$i]="${secs[$i]:-} $(awk '{print $1}' <<<"$out")"
    rss[$i]=$(awk -v a="${rss[$i]:-0}" '{print ($2 > a) ? $2 : a}' <<<"$out")
  done
done
med() { median ${secs[$1]}; }
t_agent=$(med 0) t_rules=$(med 1) t_rg=$(med 2) t_grep=$(med 3)
m_agent=${rss[0]} m_rules=${rss[1]} m_rg=${rss[2]} m_grep=${rss[3]}
gbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.2f", b / s / 1e9 }'; }

echo "input: $(awk -v b="$bytes" 'BEGIN {printf "%.2f", b / 1073741824}') GiB, one core each, median of $RUNS"
printf '%-34s %7.2f s  %5s GB/s  peak RSS %6.1f MB\n' "auto-etl classify (built-in rules)" "$t_agent" "$(gbps "$t_agent")" "$m_agent"
printf '%-34s %7.2f s  %5s GB/s  peak RSS %6.1f MB\n' "auto-etl classify (+50 user rules)" "$t_rules" "$(gbps "$t_rules")" "$m_rules"
printf '%-34s %7.2f s  %5s GB/s  peak RSS %6.1f MB\n' "rg -i -c -f patterns" "$t_rg" "$(gbps "$t_rg")" "$m_rg"
printf '%-34s %7.2f s  %5s GB/s  peak RSS %6.1f MB\n' "grep -P -i -c (same patterns)" "$t_grep" "$(gbps "$t_grep")" "$m_grep"
echo "ratio vs ripgrep: $(ratio "$t_agent" "$t_rg") (target <= 1.0); vs grep: $(ratio "$t_agent" "$t_grep")"
echo "with +50 rules: $(ratio "$t_rules" "$t_agent")x the time of built-in only"

echo "peak RSS by input size (stdin):"
for size in $SIZES; do
  out=$(python3 "$ROOT/scripts/bench/measure.py" --stdin-size "$size" "$BIN classify -")
  printf '  %8s bytes: %6.1f MB, %.2f GB/s through the pipe\n' "$size" "$(awk '{print $2}' <<<"$out")" \
    "$(awk -v n="$size" '{printf "%.2f", n / $1 / 1e9}' <<<"$out")"
done
