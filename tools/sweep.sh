#!/usr/bin/env bash
# A small hyper-parameter sweep on the DEV split (the test split is only used by `photolink ablate`):
# each line trains one configuration and prints its final dev acc@1. Features are cached, so a run
# costs seconds once the first one has extracted them.
#   tools/sweep.sh <benchmark folder> <image tower> <out folder> "<extra args>"...
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/env.sh
photolink="$PHOTOLINK_TARGET_NATIVE/release/photolink"
data=$1; tower=$2; out=$3; shift 3
printf '| configuration | dev acc@1 (last epoch) | best dev acc@1 (epoch) |\n|---|---|---|\n'
for args in "$@"; do
    run="$out/$(echo "$args" | tr ' ,' '_+' | tr -s '_' | sed 's/^_//; s/--//g')"
    # shellcheck disable=SC2086
    "$photolink" train --data "$data" --image-tower "$tower" --device cpu --out "$run" --resume $args >/dev/null 2>&1
    python3 - "$run/metrics.jsonl" "$args" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
best = max(rows, key=lambda r: r["dev_acc1"])
print(f"| `{sys.argv[2]}` | {100 * rows[-1]['dev_acc1']:.1f} | {100 * best['dev_acc1']:.1f} ({best['epoch']}) |")
PY
done
