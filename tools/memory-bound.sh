#!/usr/bin/env bash
# Peak memory of `photolink link` on photos of extreme shapes, each accepted by the decoder (at or
# inside its 50-megapixel limit): a square at the limit, a panorama, a one-pixel strip, a 16-bit
# RGBA square at the limit, and boxes one pixel wide or high. Measured with GNU time's maximum
# resident set size; fails if any run exceeds 1 GiB or does not finish cleanly (issue 14).
#
#   tools/memory-bound.sh BUNDLE [PHOTOLINK]
#
# tools/test.sh runs it on the persons bundle it exports (a face bundle: detector, crops, FaceNet).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle="$1"
photolink="${2:-${PHOTOLINK_TARGET_NATIVE:-$HOME/.cache/photolink/target}/release/photolink}"
limit_kb=$((1024 * 1024))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# PNGs written with Python's zlib alone, streamed row by row: a few MB each on disk, 150–400 MB of
# pixels once decoded.
python3 - "$work" <<'EOF'
import struct, sys, zlib

def png(path, width, height, rgba16=False):
    channels, depth = (4, 16) if rgba16 else (3, 8)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    color = 6 if rgba16 else 2
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    row_bytes = width * channels * depth // 8
    pattern = bytes((i * 7) & 255 for i in range(row_bytes + 256))
    packer = zlib.compressobj(1)
    parts = []
    rows_per_chunk = max(1, (1 << 22) // (row_bytes + 1))
    y = 0
    while y < height:
        n = min(rows_per_chunk, height - y)
        block = b"".join(b"\0" + pattern[(y + i) % 256:(y + i) % 256 + row_bytes] for i in range(n))
        parts.append(packer.compress(block))
        y += n
    parts.append(packer.flush())
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))

out = sys.argv[1]
png(f"{out}/square-at-limit.png", 7071, 7071)
png(f"{out}/panorama.png", 50000, 1000)
png(f"{out}/strip.png", 1, 50_000_000)
png(f"{out}/square-rgba16.png", 7071, 7071, rgba16=True)
EOF

printf '| photo | box | outcome | peak RSS |\n|---|---|---|---|\n'
fail=0
run() { # photo, box (or -)
    local photo="$1" box="$2" args=(link --cpu -k 3 --bundle "$bundle")
    [ "$box" = - ] || args+=(--box "$box")
    local status=0
    /usr/bin/time -v -o "$work/time.txt" "$photolink" "${args[@]}" "$work/$photo" \
        >"$work/out.txt" 2>"$work/err.txt" || status=$?
    local kb
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    local outcome
    if [ "$status" = 0 ]; then
        outcome="linked: $(head -c 60 "$work/out.txt" | head -n 1)"
    else
        outcome="exit $status: $(tail -n 1 "$work/err.txt" | head -c 100)"
        fail=1
    fi
    printf '| %s | %s | %s | %d MB |\n' "$photo" "$box" "$outcome" $((kb / 1024))
    if [ "$kb" -gt "$limit_kb" ]; then
        echo "memory-bound: $photo (box $box) peaked at $((kb / 1024)) MB, over the 1 GiB bar" >&2
        fail=1
    fi
}
run square-at-limit.png -
run square-at-limit.png 0,0,7071,1
run panorama.png -
run panorama.png 0,0,50000,1
run panorama.png 0,0,1,1000
run strip.png -
run strip.png 0,0,1,50000000
run square-rgba16.png -
exit $fail
