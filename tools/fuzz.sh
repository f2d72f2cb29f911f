#!/usr/bin/env bash
# Runs fuzz targets for FUZZ_SECONDS each (default 600), one after another, each from its committed
# seeds (fuzz/seeds/<target>, fuzz/photo/seeds/<target>) plus whatever corpus earlier runs left,
# and prints a markdown row per target: seconds, executions, corpus size, outcome. A crash stops
# the script; libFuzzer leaves the input under <fuzz dir>/artifacts/<target>/.
#
#   tools/fuzz.sh [TARGET ...]        default: every target
#   tools/fuzz.sh --seeds             rewrite the committed seeds (crates/core/examples/fuzz_seeds.rs)
#
# Needs the nightly toolchain (rustup) and cargo-fuzz, which it installs into the tools cache.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
seconds="${FUZZ_SECONDS:-600}"

if [ "${1:-}" = --seeds ]; then
    CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE" \
        cargo run --release -p photolink-core --features fs,text --example fuzz_seeds -- fuzz
    exit 0
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked --root "$PHOTOLINK_TOOLS" cargo-fuzz

# Where each target lives, and its libFuzzer options. photo_link runs the whole pipeline with an
# allocation limit: no single allocation may exceed 1 GiB (the bar of tools/memory-bound.sh).
declare -A fuzz_dir=(
    [kb_manifest]=fuzz [kb_shard]=fuzz [kb_metadata]=fuzz [kb_refine]=fuzz
    [photo_decode]=fuzz/photo [photo_link]=fuzz/photo
)
declare -A options=(
    [kb_manifest]="-dict=fuzz/kb_manifest.dict"
    [kb_shard]="-dict=fuzz/kb_shard.dict -max_len=65536"
    [kb_metadata]=""
    [kb_refine]="-max_len=65536"
    [photo_decode]="-max_len=65536"
    [photo_link]="-max_len=65536 -malloc_limit_mb=1024 -timeout=120"
)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kb_manifest kb_shard kb_metadata kb_refine photo_decode photo_link)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "| target | seconds | executions | corpus | outcome |"
echo "|---|---|---|---|---|"
for target in "${targets[@]}"; do
    dir="${fuzz_dir[$target]:?unknown target $target}"
    corpus="$dir/corpus/$target"
    mkdir -p "$corpus"
    cp -n "$dir/seeds/$target/"* "$corpus/"
    status=0
    # shellcheck disable=SC2086 # the options are words
    cargo +nightly fuzz run -O --fuzz-dir "$dir" "$target" "$corpus" -- \
        -max_total_time="$seconds" -print_final_stats=1 ${options[$target]} >"$log" 2>&1 || status=$?
    runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
    took=$(awk '/stat::.*total_time|Done [0-9]+ runs in/ {for (i = 1; i <= NF; i++) if ($i == "in") print $(i + 1)}' "$log" | tail -n 1)
    outcome=$([ "$status" = 0 ] && echo "no crash, no failed check" || echo "FAILED (exit $status)")
    echo "| \`$target\` | ${took:-?} | ${runs:-?} | $(find "$corpus" -type f | wc -l) files | $outcome |"
    if [ "$status" != 0 ]; then
        tail -n 40 "$log" >&2
        exit "$status"
    fi
done
