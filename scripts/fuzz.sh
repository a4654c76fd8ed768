#!/usr/bin/env bash
# Fuzzes auto-etl's parsers: the config loader, rule compiler + classifier
# (+ redactor), report reader and journal verifier, the line reassembly
# (scanner windows, stream redaction) and the redactor.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60s, all)
#
# With a nightly toolchain and cargo-fuzz: coverage-guided libFuzzer runs
# (`cargo +nightly fuzz run`), corpora in fuzz/corpus/, findings in
# fuzz/artifacts/. Otherwise (stable only): the same target bodies in a
# bounded random-mutation loop (fuzz/src/bin/random_loop.rs). The script
# says which one ran. A finding becomes a regression test beside the code.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config classify report journal lines redact cleanup_paths)

if rustup toolchain list 2>/dev/null | grep -q '^nightly' && cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz (libFuzzer, nightly), ${secs}s per target"
    for t in "${targets[@]}"; do
        mkdir -p "corpus/$t"
        cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
        cargo +nightly fuzz run --features libfuzzer "$t" "corpus/$t" -- \
            -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
            | grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY|Done)' || true
        if ls "artifacts/$t"/crash-* >/dev/null 2>&1; then
            echo "fuzz: $t: FINDINGS in fuzz/artifacts/$t" >&2
            exit 1
        fi
        echo "fuzz: $t: no finding"
    done
else
    echo "fuzz: no nightly + cargo-fuzz here: stable random-mutation loop, ${secs}s per target"
    cargo run --release --quiet --bin random-loop -- "$secs" "${targets[@]}"
fi
