#!/usr/bin/env bash
# The quality issue's glyph ablation: what each character's pictures in the training fonts add when
# the photo is drawn in a font no reference comes from (Hanazono). The 3,000-entity sample of the
# glyph benchmark, its run (EfficientNet-Lite0 frozen, 5 epochs), then `photolink eval
# --references` over a seeded cut of the KB: GLYPH_CUT entities (default 15,000), every entity a
# mention names and the rest drawn at random, all with their pictures, so that text only and text +
# pictures rank over the same KB. Why a cut: the whole KB's 194,649 pictures take about 1 h 45 min
# to embed on a 2-core machine; the cut's 23,027, 14 min (docs/results/quality.md).
# Needs the glyph benchmark ($PHOTOLINK_CACHE/demo/data/glyphs: photolink data prepare glyphs).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
photolink="$PHOTOLINK_TARGET_NATIVE/release/photolink"
entities="${GLYPH_CUT:-15000}"
data="$PHOTOLINK_CACHE/demo/data"
work="$PHOTOLINK_CACHE/glyph-references"
[ -f "$data/glyphs/kb.jsonl" ] || { echo "glyph-references: no $data/glyphs/kb.jsonl: run photolink data prepare glyphs --out $data" >&2; exit 1; }

sample="$data/glyphs-3k"
[ -f "$sample/mentions.jsonl" ] || "$photolink" data sample --data "$data/glyphs" --out "$sample" \
    --entities 3000 --train-per-entity 1 --dev 200 --test 500
run="$work/runs/glyphs-3k"
train_once "$run" --data "$sample" --image-tower efficientnet_lite0 --views 2 --epochs 5 \
    --batch-size 64 --device cpu

# The cut: its kb.jsonl and lookalikes.json restricted to the kept entities, the sample's mentions.
cut="$work/data/cut-$entities"
rm -rf "$cut" && mkdir -p "$cut"
python3 - "$sample" "$cut" "$entities" <<'EOF'
import json, random, sys
src, out, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
kb = [json.loads(line) for line in open(f"{src}/kb.jsonl")]
mentions = [json.loads(line) for line in open(f"{src}/mentions.jsonl")]
named = {m["entity"] for m in mentions}
rest = [e["id"] for e in kb if e["id"] not in named]
keep = named | set(random.Random(7).sample(rest, max(0, total - len(named))))
with open(f"{out}/kb.jsonl", "w") as f:
    for e in kb:
        if e["id"] in keep:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
looks = json.load(open(f"{src}/lookalikes.json"))
looks["classes"] = {font: [kept for c in classes if len(kept := [i for i in c if i in keep]) > 1]
                    for font, classes in looks["classes"].items()}
for key in ("same_radical_and_strokes", "one_part_away"):
    looks[key] = [i for i in looks[key] if i in keep]
json.dump(looks, open(f"{out}/lookalikes.json", "w"))
pictures = sum(len(e.get("images", [])) for e in kb if e["id"] in keep)
print(f"glyph-references: a cut of {len(keep)} entities ({len(named)} named by mentions), {pictures} pictures")
EOF
cp "$sample/mentions.jsonl" "$sample/prepare.json" "$cut/"
ln -sfn "$(readlink -f "$sample/images")" "$cut/images"

# The same run, reading the cut.
on_cut="$work/runs/glyphs-3k-on-cut-$entities"
rm -rf "$on_cut" && cp -r "$run" "$on_cut"
python3 - "$on_cut/config.json" "$cut" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
config["data"] = sys.argv[2]
json.dump(config, open(sys.argv[1], "w"), indent=2)
EOF
"$photolink" eval --run "$on_cut" --references --reference-weights 0.25,1,4
