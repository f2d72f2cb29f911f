#!/usr/bin/env bash
# Runs every photolink test: formatting; native unit + integration tests (CPU, wgpu on lavapipe,
# golden agreement of the towers, training resume); the wasm tests in headless Chromium on WebGPU
# (SwiftShader) and on the CPU backend; and the end-to-end test of the assembled page.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
source tools/env.sh
start=$SECONDS
step() { printf '\n\033[1m== %s\033[0m (%ds)\n' "$*" $((SECONDS - start)); }

step "cargo fmt --all --check"
cargo fmt --all --check

step "build (native, release, all targets)"
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE" cargo build --release --workspace --all-targets
photolink="$PHOTOLINK_TARGET_NATIVE/release/photolink"

step "pretrained towers (photolink assets fetch; cached after the first run)"
"$photolink" assets fetch

step "native tests (cargo test --release --workspace)"
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE" cargo test --release --workspace --no-fail-fast

step "browser tests (wasm32, headless Chromium: WebGPU + CPU)"
# In the page's own `web` profile, so that burn is compiled for wasm32 once, for the tests and pkg/ alike.
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_WASM" \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=/usr/bin/chromedriver \
WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-600} \
    cargo test --profile web --target wasm32-unknown-unknown -- --nocapture

step "browser control: without --enable-unsafe-webgpu the WebGPU test must fail"
tools/webgpu-control.sh

step "end-to-end: assembling the page and the persons bundle"
tools/build-web.sh
e2e="$PHOTOLINK_CACHE/e2e"
mkdir -p "$e2e"
"$photolink" data prepare persons --out "$e2e/data"
"$photolink" export --run tests/fixtures/persons-run --kb "$e2e/data/persons/kb.jsonl" \
    --out "$e2e/bundles/persons" --title "Basketball players"
# The same KB without the e2e photo's player: a face that is in no KB entry. Its mentions are
# skipped with him (unknown entity), so its abstention rule is calibrated on the others.
expected="$(node -p "require('./tests/fixtures/persons-run/e2e.json').expected")"
without="$e2e/data/persons-without"
mkdir -p "$without"
node -e 'const fs = require("fs"); const [src, dst, name] = process.argv.slice(1);
    fs.writeFileSync(dst, fs.readFileSync(src, "utf8").split("\n")
        .filter((l) => l && JSON.parse(l).name !== name).join("\n") + "\n");' \
    "$e2e/data/persons/kb.jsonl" "$without/kb.jsonl" "$expected"
cp "$e2e/data/persons/mentions.jsonl" "$without/mentions.jsonl"
ln -sfn ../persons/images "$without/images"
"$photolink" export --run tests/fixtures/persons-run --kb "$without/kb.jsonl" \
    --out "$e2e/bundles/persons-without" --title "Basketball players, without $expected"
"$photolink" site --out "$e2e/site" --bundle "$e2e/bundles/persons" --bundle "$e2e/bundles/persons-without"
# The same KB in 16 partitions, of which a photo fetches its 4 nearest (tests/e2e/partitions.test.mjs).
"$photolink" export --run tests/fixtures/persons-run --kb "$e2e/data/persons/kb.jsonl" \
    --out "$e2e/bundles/persons-partitioned" --title "Basketball players, in partitions" \
    --partitions 16 --nprobe 4
# An emoji drawing, for the persons bundle to answer "not in this knowledge base".
"$photolink" data prepare emoji --out "$e2e/data"

step "memory bound: photolink link on photos of extreme shapes (peak RSS ≤ 1 GiB)"
tools/memory-bound.sh "$e2e/bundles/persons" "$photolink"

step "end-to-end: the page in headless Chromium"
(cd tests/e2e && npm ci --silent --no-audit --no-fund >/dev/null)
# The committed run links this training photo to this player (tests/fixtures/persons-run/README.md).
PHOTOLINK_BIN="$photolink" E2E_SITE="$e2e/site" E2E_BUNDLE="$e2e/bundles/persons" \
E2E_PHOTO="$e2e/data/persons/images/$(node -p "require('./tests/fixtures/persons-run/e2e.json').photo")" \
E2E_EXPECTED="$expected" E2E_PARTITIONED_BUNDLE="$e2e/bundles/persons-partitioned" \
E2E_EMOJI_PHOTO="$e2e/data/emoji/images/$(node -p "JSON.parse(require('fs').readFileSync('$e2e/data/emoji/mentions.jsonl', 'utf8').split('\n')[0]).image")" \
E2E_SCREENSHOT=docs/screenshots/page-persons.png E2E_GROUP_PHOTO=models/golden/nba_4faces_536x396.png \
    node --test --test-reporter=spec tests/e2e/

step "all tests passed"
