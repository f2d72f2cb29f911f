#!/usr/bin/env bash
# Negative control for the browser tests: with Chromium started WITHOUT --enable-unsafe-webgpu there
# is no WebGPU adapter, and the WebGPU test must fail (proving it cannot silently pass on the CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
no_flag=$(mktemp --suffix=.json)
trap 'rm -f "$no_flag"' EXIT
grep -v -- '--enable-unsafe-webgpu' webdriver.json > "$no_flag"
set +e
output=$(WASM_BINDGEN_TEST_WEBDRIVER_JSON="$no_flag" \
    CARGO_TARGET_DIR="$PHOTOLINK_TARGET_WASM" \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=300 \
    cargo test --profile web --target wasm32-unknown-unknown --test web_backends webgpu_forward_equals_cpu 2>&1)
status=$?
set -e
if [ $status -eq 0 ]; then
    echo "control FAILED: the WebGPU test passed without a WebGPU adapter" >&2
    exit 1
fi
if ! grep -q "no WebGPU adapter" <<<"$output"; then
    echo "control FAILED: the WebGPU test failed, but not for want of an adapter:" >&2
    tail -40 <<<"$output" >&2
    exit 1
fi
echo "control: without --enable-unsafe-webgpu the WebGPU test fails as it must:"
grep -m1 -E "AdapterUnavailable|No adapter|no GPU backend" <<<"$output" | cut -c1-200 || true
