#!/usr/bin/env bash
# The main job, end to end on a fresh machine: set-up, pretrained towers, the persons and emoji
# benchmarks, training (CPU here, GPU where there is one), export of both bundles, the page's wasm
# (pkg/, wasm-opt), the static site, and a server on 127.0.0.1 that prints the URL.
# Every step is cached: a rerun skips what is already built. PORT=0 picks a free port;
# DEMO_BENCHMARKS="persons" builds only that bundle; DEMO_BENCHMARKS=glyphs builds the 146,999-entity
# Unicode character KB (docs/results/glyphs.md; about an hour of CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
source tools/env.sh
start=$SECONDS
step() { printf '\n\033[1m== %s\033[0m (%ds)\n' "$*" $((SECONDS - start)); }

step "build the photolink binary"
# --all-targets keeps one set of features with the test build, so burn is compiled once.
CARGO_TARGET_DIR="$PHOTOLINK_TARGET_NATIVE" cargo build --release --workspace --all-targets
photolink="$PHOTOLINK_TARGET_NATIVE/release/photolink"
demo="$PHOTOLINK_CACHE/demo"
mkdir -p "$demo"

# The page's wasm builds (and wasm-opt, mostly one core) while the benchmarks train: training uses
# both cores only part of the time, so overlapping the two saves minutes of a cold start.
step "the page's wasm (pkg/), in the background"
web_log="$demo/build-web.log"
# Its own process group (setsid), so that a failed or interrupted demo stops the whole build.
setsid bash -c 'start=$(date +%s); rc=0; tools/build-web.sh || rc=$?
    echo "demo: pkg/ took $(($(date +%s) - start)) s in the background (exit $rc)"; exit $rc' \
    >"$web_log" 2>&1 &
web_pid=$!
trap 'kill -- -"$web_pid" 2>/dev/null || true' EXIT

step "pretrained towers"
"$photolink" assets fetch

# Training runs on the GPU where there is one; here (lavapipe only) the CPU backend is faster.
device=cpu
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then device=gpu; fi

for bench in ${DEMO_BENCHMARKS:-persons emoji}; do
    case "$bench" in
        # FaceNet's last two stages and MiniLM's last layer tuned; each headshot fused with 16
        # augmented views of it (docs/results/quality.md: held-out views 65.4 → 78.1 %, headshots
        # 100 → 99.2 %). The recipe names its run folder, so a cache of another recipe retrains.
        persons) recipe=u2t1; export_args=(--reference-views 16); tower=facenet; title="Basketball players (NBA summer league)"
            train_args=(--epochs 150 --lr 1e-3 --views 8 --unfreeze-image 2 --tower-lr 1e-4 --unfreeze-text 1 --text-lr 1e-4) ;;
        emoji) recipe=; export_args=(); tower=efficientnet_lite0; title="Emoji (Unicode 16)"; train_args=(--epochs 25 --views 2) ;;
        # 146,999 characters: trained on a sample of 30,000 (one picture each), ranked over all;
        # text vectors only (fusing the 200,000 training-font pictures would take an hour more).
        # 383 partitions (about √entities), of which a photo fetches its 32 nearest: recall@10 95.9 %
        # against exhaustive search on 8.1 % of the rows (docs/results/kb-partition.md).
        glyphs) recipe=; export_args=(--reference-weight 0 --partitions 383 --nprobe 32); tower=efficientnet_lite0; title="Unicode characters (glyphs)"
            train_args=(--epochs 15 --views 2 --augment glyph --batch-size 64) ;;
        *) echo "unknown benchmark $bench" >&2; exit 2 ;;
    esac
    step "benchmark $bench"
    "$photolink" data prepare "$bench" --out "$demo/data"
    data="$demo/data/$bench"
    if [ "$bench" = glyphs ]; then
        data="$demo/data/glyphs-30k"
        [ -f "$data/mentions.jsonl" ] || "$photolink" data sample --data "$demo/data/glyphs" --out "$data" \
            --entities 30000 --train-per-entity 1 --dev 2000 --test 10000 --seed 0
    fi

    run="$demo/runs/$bench${recipe:+-$recipe}"
    if [ -f "$run/heads.bpk" ]; then
        echo "demo: $run is trained (delete it to retrain)"
    else
        step "train $bench"
        train_once "$run" --data "$data" --image-tower "$tower" "${train_args[@]}" --device "$device"
    fi

    bundle="$demo/bundles/$bench"
    # Re-exported when the run or the KB (its texts, its reference pictures) is newer, when it
    # predates abstention rules or 8-bit weights (or partitions, for glyphs), or when this build cannot load it (an older
    # bundle format): `link` loads the whole bundle and verifies every file.
    if [ -f "$bundle/manifest.json" ] && [ "$bundle/manifest.json" -nt "$run/heads.bpk" ] \
        && [ "$bundle/manifest.json" -nt "$data/kb.jsonl" ] \
        && grep -q '"abstention"' "$bundle/linker.json" \
        && grep -q '"image-weights-u8"' "$bundle/manifest.json" \
        && { [ "$bench" != glyphs ] || grep -q '"partitions"' "$bundle/manifest.json"; } \
        && "$photolink" link --cpu -k 1 --bundle "$bundle" models/golden/nba_bronny_james_160.png >/dev/null 2>&1; then
        echo "demo: $bundle is exported"
    else
        step "export $bench"
        "$photolink" export --run "$run" --kb "$data/kb.jsonl" --out "$bundle" --title "$title" "${export_args[@]}"
    fi
done

step "the page's wasm (pkg/): waiting for the background build"
if ! wait "$web_pid"; then
    cat "$web_log" >&2
    echo "demo: tools/build-web.sh failed (log above, also in $web_log)" >&2
    exit 1
fi
trap - EXIT
tail -n 2 "$web_log"

step "site"
bundles=()
for bench in ${DEMO_BENCHMARKS:-persons emoji}; do bundles+=(--bundle "$demo/bundles/$bench"); done
"$photolink" site --out "$demo/site" "${bundles[@]}"

step "serve"
exec "$photolink" serve "$demo/site" --port "${PORT:-8080}"
