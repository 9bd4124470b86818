#!/usr/bin/env bash
# The short, bounded coverage-guided fuzz pass CI runs after the tests (.ci/run): the
# deck_render target (see README.md here), seeded with the reference deck's slides, for a
# fixed number of inputs with a fixed seed, so that a pass here is a pass there. About three
# minutes on two cores: installing cargo-fuzz, building the target, 10,000 runs.
#
#   fuzz/ci.sh              # as CI runs it
#   RUNS=100000 fuzz/ci.sh  # longer
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${RUNS:-10000}
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --version 0.13.2 --locked
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/seeds" "$work/corpus"
awk -v dir="$work/seeds" '/^====$/ {n++; next} {print > sprintf("%s/slide%02d.md", dir, n)}' ../slides/trio.md
# libFuzzer needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable compiler take them.
status=0
RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none deck_render "$work/corpus" "$work/seeds" -- \
    -dict=deck.dict -seed=1 -runs="$RUNS" -max_total_time=600 -timeout=20 \
    -print_final_stats=1 >"$work/log" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log" || true
    echo "fuzz: deck_render ok"
else
    tail -n 60 "$work/log"
    echo "fuzz: deck_render FAILED (exit $status); the input is in fuzz/artifacts/deck_render/"
fi
exit "$status"
