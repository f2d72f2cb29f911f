#!/usr/bin/env bash
# Installs what photolink's build, demo and tests need on a fresh Debian machine, and nothing that is
# already there: the wasm32 target, wasm-bindgen-cli at the version Cargo.lock pins, Chromium + ChromeDriver
# (headless browser tests, WebGPU through SwiftShader), Mesa lavapipe (native wgpu tests without a GPU) and
# wasm-opt from npm binaryen@132 (Debian's binaryen 108 corrupts burn's wasm).
# Idempotent: a second run downloads nothing. Tools are cached under $PHOTOLINK_CACHE (outside the clone).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# 1. Rust target for the browser build.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding rustup target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

# 2. wasm-bindgen-cli must match the wasm-bindgen crate exactly, or the generated glue is refused.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$("$PHOTOLINK_TOOLS/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (was: ${have:-absent}); takes ~2 min"
    # Not --locked: the locked build of 0.2.130 fails on a yanked webpki-roots.
    cargo install --quiet --root "$PHOTOLINK_TOOLS" wasm-bindgen-cli --version "$want"
fi

# 3. Debian packages: browser + driver, Mesa's software Vulkan (lavapipe) for native wgpu, a font
#    for the training plots, and GNU time for the memory bound of tools/memory-bound.sh.
missing=()
for pkg in chromium chromium-driver mesa-vulkan-drivers libvulkan1 fonts-dejavu-core time; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 4. wasm-opt from npm binaryen@132 (pinned; Debian's 108 breaks the externref table init).
if ! "$PHOTOLINK_WASM_OPT" --version 2>/dev/null | grep -q "version 132"; then
    say "installing npm binaryen@132.0.0 (wasm-opt)"
    mkdir -p "$PHOTOLINK_TOOLS/npm"
    npm install --silent --no-audit --no-fund --prefix "$PHOTOLINK_TOOLS/npm" binaryen@132.0.0 >/dev/null
fi

say "ready (cache: $PHOTOLINK_CACHE)"
