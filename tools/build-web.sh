#!/usr/bin/env bash
# Builds pkg/: the wasm32 library (profile `web`, see Cargo.toml) → wasm-bindgen (--target web) → wasm-opt -O3.
# wasm-opt takes minutes on 2 cores, so its output is cached by the sha256 of its input.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh

CARGO_TARGET_DIR="$PHOTOLINK_TARGET_WASM" cargo build --profile web --lib --target wasm32-unknown-unknown
raw="$PHOTOLINK_TARGET_WASM/wasm32-unknown-unknown/web/photolink.wasm"

rm -rf pkg.tmp && mkdir -p pkg.tmp
wasm-bindgen --target web --out-dir pkg.tmp "$raw"

bindgen_out=pkg.tmp/photolink_bg.wasm
key=$(sha256sum "$bindgen_out" | cut -c1-16)
cached="$PHOTOLINK_CACHE/wasm-opt/$key.wasm"
if [ ! -f "$cached" ]; then
    echo "build-web: wasm-opt -O3 (a few minutes; cached afterwards as $key)"
    mkdir -p "$(dirname "$cached")"
    # The features Rust enables for wasm32 by default, plus simd128 (.cargo/config.toml).
    "$PHOTOLINK_WASM_OPT" -O3 --strip-debug \
        --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
        --enable-reference-types --enable-sign-ext --enable-multivalue --enable-simd \
        "$bindgen_out" -o "$cached.tmp"
    mv "$cached.tmp" "$cached"
fi
cp "$cached" "$bindgen_out"
# pkg/ as a package other sites can use: its README and a package.json of the crate's version.
cp web-package/README.md pkg.tmp/README.md
node -e '
const fs = require("fs");
const cargo = fs.readFileSync("Cargo.toml", "utf8");
const field = (k) => cargo.match(new RegExp(`^${k} = "([^"]*)"`, "m"))[1];
fs.writeFileSync("pkg.tmp/package.json", JSON.stringify({
  name: "photolink", version: field("version"), description: field("description"),
  license: field("license"), type: "module", main: "photolink.js", types: "photolink.d.ts",
  files: ["photolink.js", "photolink_bg.wasm", "photolink.d.ts", "photolink_bg.wasm.d.ts", "README.md"],
}, null, 2) + "\n");'
rm -rf pkg && mv pkg.tmp pkg
echo "build-web: pkg/ ready ($(du -h pkg/photolink_bg.wasm | cut -f1) wasm, $(gzip -9c pkg/photolink_bg.wasm | wc -c | numfmt --to=iec) gzipped)"
