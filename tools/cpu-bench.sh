#!/usr/bin/env bash
# The native CPU benchmarks side by side with PyTorch, in one run on the same cores:
# EfficientNet-Lite0 (criterion `towers`, batch 1 and 32) and MiniLM over the emoji KB's texts
# (criterion `text_encode`), then benches/torch_compare.py on the same weights and texts
# (torch.set_num_threads(2)). Needs `photolink assets fetch`, `photolink data prepare emoji --out data`
# and the venv of tools/golden/setup.sh (GOLDEN_DIR, default /tmp/photolink-golden).
# Results: docs/results/cpu-vs-pytorch.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
golden="${GOLDEN_DIR:-/tmp/photolink-golden}"
texts=$(mktemp --suffix=.jsonl)
trap 'rm -f "$texts"' EXIT
export CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE"
cargo bench --bench towers -- efficientnet
TEXT_BENCH_DUMP="$texts" cargo bench --bench text_encode
# OpenBLAS's safety settings of this machine slow PyTorch; unset for the timing run only.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$golden/venv/bin/python" benches/torch_compare.py --texts "$texts"
