#!/usr/bin/env bash
# Runs every photolink test: formatting, native unit + integration tests (CPU and wgpu on lavapipe), and
# the wasm tests in headless Chromium on WebGPU (SwiftShader) and on the CPU backend.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
source tools/env.sh
start=$SECONDS
step() { printf '\n\033[1m== %s\033[0m (%ds)\n' "$*" $((SECONDS - start)); }

step "cargo fmt --check"
cargo fmt --check

step "pretrained towers (photolink assets fetch; cached after the first run)"
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE" cargo run --release --quiet --bin photolink -- assets fetch

step "native tests (cargo test --release)"
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE" cargo test --release

step "browser tests (wasm32, headless Chromium: WebGPU + CPU)"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300}
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_WASM" cargo test --release --target wasm32-unknown-unknown

step "all tests passed"
