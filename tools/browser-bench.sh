#!/usr/bin/env bash
# The browser benchmark (benches/browser/run.mjs): photolink on WebGPU and CPU vs face-api.js on
# tfjs wasm/webgl/webgpu/cpu, same Chromium, same photo. Uses the site tools/test.sh assembles
# (run it first). Extra arguments go to run.mjs, e.g. --runs 5 --warm 30 --out docs/results/browser-bench.md
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
e2e="$PHOTOLINK_CACHE/e2e"
[ -f "$e2e/site/bundles.json" ] || { echo "browser-bench: no site in $e2e/site — run tools/test.sh first" >&2; exit 1; }
(cd benches/browser && npm ci --silent --no-audit --no-fund >/dev/null)
photo="$e2e/data/persons/images/$(node -p "require('./tests/fixtures/persons-run/e2e.json').photo")"
node benches/browser/run.mjs --bin "$PHOTOLINK_TARGET_NATIVE/release/photolink" --site "$e2e/site" --photo "$photo" "$@"
