# Shared environment for photolink's scripts (sourced, not run). Every build output and installed tool lives
# under one cache outside the clone, so reruns, CI and later sessions reuse warm builds.
export PHOTOLINK_CACHE="${PHOTOLINK_CACHE:-$HOME/.cache/photolink}"
export PHOTOLINK_TOOLS="$PHOTOLINK_CACHE/tools"
export PHOTOLINK_WASM_OPT="$PHOTOLINK_TOOLS/npm/node_modules/binaryen/bin/wasm-opt"
# One target dir per target: the native and wasm32 builds use different burn features and would
# otherwise evict each other's artifacts.
export PHOTOLINK_TARGET_NATIVE="$PHOTOLINK_CACHE/target"
export PHOTOLINK_TARGET_WASM="$PHOTOLINK_CACHE/target-wasm"
export PATH="$PHOTOLINK_TOOLS/bin:$PATH"
# Native wgpu without a GPU: Mesa lavapipe (software Vulkan). A machine with a real GPU sets
# PHOTOLINK_REAL_GPU=1 (or its own VK_ICD_FILENAMES) to keep its driver.
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "${PHOTOLINK_REAL_GPU:-}" ] \
    && [ -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]; then
    export VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
fi
# Mesa's Vulkan loader complains on every start when the session has no runtime dir (CI, containers).
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="$PHOTOLINK_CACHE/runtime"
    mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi
# `photolink train ARGS --out RUN` for the scripts' cached runs: nothing when RUN is finished (its
# heads.bpk), resumed from RUN's checkpoint when an earlier training stopped part-way.
train_once() {
    local run="$1"; shift
    [ -f "$run/heads.bpk" ] && return 0
    local resume=(); [ -d "$run/checkpoint" ] && resume=(--resume)
    "$PHOTOLINK_TARGET_NATIVE/release/photolink" train "$@" --out "$run" "${resume[@]}"
}
