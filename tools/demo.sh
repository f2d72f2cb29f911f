#!/usr/bin/env bash
# The main job: sets up the machine, builds the page's wasm (pkg/) and the photolink binary, assembles
# the static site (www/ + pkg/) and serves it on 127.0.0.1. PORT=0 picks a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
source tools/env.sh

tools/build-web.sh
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE" cargo build --release --bin photolink
photolink="$PHOTOLINK_TARGET_NATIVE/release/photolink"

site="$PHOTOLINK_CACHE/site"
rm -rf "$site" && mkdir -p "$site"
cp -r www/. "$site/"
cp -r pkg "$site/pkg"

exec "$photolink" serve "$site" --port "${PORT:-8080}"
