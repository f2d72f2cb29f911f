#!/usr/bin/env bash
# Open-set figures on true unknowns: the persons benchmark with every 10th player held out of the
# KB *and* of training, trained with the demo's persons recipe, then `photolink eval --open-set`
# with those players' test photos linked as faces this KB has never seen.
# Needs the demo's persons data ($PHOTOLINK_CACHE/demo/data/persons: tools/demo.sh makes it).
# HELDOUT_EVERY=n holds out every n-th player (default 10); the run is cached like the demo's.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
photolink="$PHOTOLINK_TARGET_NATIVE/release/photolink"
every="${HELDOUT_EVERY:-10}"
whole="$PHOTOLINK_CACHE/demo/data/persons"
work="$PHOTOLINK_CACHE/heldout/every-$every"
data="$work/data"
[ -f "$whole/kb.jsonl" ] || { echo "heldout: no $whole/kb.jsonl: run tools/demo.sh first" >&2; exit 1; }

mkdir -p "$data"
# Player i (0-based, KB order) is held out when i % every == every - 1; their mentions go with them.
node -e '
const fs = require("fs");
const [whole, data, every] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const lines = (f) => fs.readFileSync(f, "utf8").split("\n").filter(Boolean);
const kb = lines(`${whole}/kb.jsonl`);
const out = new Set(kb.map((l) => JSON.parse(l).id).filter((_, i) => i % every === every - 1));
fs.writeFileSync(`${data}/kb.jsonl`, kb.filter((l) => !out.has(JSON.parse(l).id)).join("\n") + "\n");
const mentions = lines(`${whole}/mentions.jsonl`);
fs.writeFileSync(`${data}/mentions.jsonl`,
    mentions.filter((l) => !out.has(JSON.parse(l).entity)).join("\n") + "\n");
console.log(`heldout: ${out.size} of ${kb.length} players held out of the KB and of training`);
' "$whole" "$data" "$every"
ln -sfn "$whole/images" "$data/images"

run="$work/run"
# The demo's persons recipe (tools/demo.sh).
train_once "$run" --data "$data" --image-tower facenet --epochs 600 --lr 1e-3 --views 8 --device cpu
"$photolink" eval --run "$run" --open-set --unknowns-from "$whole"
