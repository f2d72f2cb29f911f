#!/usr/bin/env bash
# Regenerates every golden fixture from the reference implementations. Run from anywhere; works in the repo root.
# Runs tools/golden/setup.sh first (idempotent). Takes ~1.5 min on 2 cores once set up.
set -euo pipefail
cd "$(dirname "$0")/../.."
G="${GOLDEN_DIR:-/tmp/photolink-golden}"
bash tools/golden/setup.sh
py="$G/venv/bin/python"
"$py" tools/golden/make_images.py --out-dir models/golden
"$py" tools/golden/minilm.py --out tests/fixtures/golden/minilm.json --wheels "$G/wheels"
"$py" tools/golden/efficientnet.py --out tests/fixtures/golden/efficientnet_lite0.json --wheels "$G/wheels"
node tools/golden/faceapi/golden.js --out tests/fixtures/golden/faceapi.json \
    --modules "$G/faceapi/node_modules" --tarballs "$G/faceapi/tarballs"
ls -l tests/fixtures/golden models/golden
