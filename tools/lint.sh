#!/usr/bin/env bash
# cargo clippy -D warnings on every target, natively and for wasm32 (the wasm-only façade is otherwise
# never linted).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE" cargo clippy --release --all-targets -- -D warnings
# The binary and the benchmarks are native-only; the library and the browser tests are what wasm32 builds.
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_WASM" cargo clippy --profile web --lib --tests --target wasm32-unknown-unknown -- -D warnings
echo "lint: clean"
