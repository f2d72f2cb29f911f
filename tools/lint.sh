#!/usr/bin/env bash
# cargo clippy -D warnings on every target, natively and for wasm32 (the wasm-only façade is otherwise
# never linted).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE" cargo clippy --release --workspace --all-targets -- -D warnings
# The page's crates, as wasm32 builds them: the binary, photolink-train and the benchmarks are native-only.
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_WASM" cargo clippy --profile web --target wasm32-unknown-unknown \
    -p photolink -p photolink-core -p photolink-kb -p photolink-cpu --lib --tests -- -D warnings
echo "lint: clean"
