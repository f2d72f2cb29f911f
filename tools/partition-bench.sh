#!/usr/bin/env bash
# The page on a partitioned bundle, in headless Chromium: KB bytes downloaded before the first
# result, the time to it, and recall@10 against exhaustive search in the same browser, for each
# nprobe (tests/e2e/partition-bench.mjs prints the markdown table).
#   tools/partition-bench.sh BUNDLE PHOTO_LIST [NPROBES] [COLD_VISITS]
# BUNDLE: a bundle exported with --partitions; PHOTO_LIST: a file naming one photo a line.
# Needs the site tools/test.sh assembles (the page and pkg/; BENCH_SITE names another) and the
# native binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
bundle="$(realpath "$1")"; photos="$(realpath "$2")"
photolink="$PHOTOLINK_TARGET_NATIVE/release/photolink"
site="${BENCH_SITE:-$PHOTOLINK_CACHE/e2e/site}"
[ -f "$site/index.html" ] || { echo "partition-bench: no site at $site (run tools/test.sh)" >&2; exit 2; }
(cd tests/e2e && npm ci --silent --no-audit --no-fund >/dev/null)
PHOTOLINK_BIN="$photolink" BENCH_SITE="$site" BENCH_BUNDLE="$bundle" BENCH_PHOTOS="$photos" \
BENCH_NPROBES="${3:-16,32,64}" BENCH_COLD="${4:-3}" BENCH_EXHAUSTIVE="${BENCH_EXHAUSTIVE:-1}" node tests/e2e/partition-bench.mjs
