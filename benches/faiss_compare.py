#!/usr/bin/env python3
"""FAISS baseline for crates/kb/benches/kb_search.rs: same vectors, same query, one thread, k = 10.

The Rust bench writes the data (raw little-endian f32, row-major, dim 256):

    KB_BENCH_DUMP=/tmp/kb-bench cargo bench -p photolink-kb --bench kb_search
    python3 benches/faiss_compare.py /tmp/kb-bench

It then times one query at a time against IndexFlatIP (exact f32 inner product) and
IndexScalarQuantizer QT_8bit (8-bit per-dimension scalar quantiser, inner product), with
faiss.omp_set_num_threads(1), and prints queries per second (median over repetitions).
Needs PyPI faiss-cpu and numpy (e.g. in a venv: python3 -m venv /tmp/faiss-venv &&
/tmp/faiss-venv/bin/pip install faiss-cpu numpy).
"""

import argparse
import glob
import os
import statistics
import time

import faiss
import numpy as np

DIM = 256
K = 10


def time_queries(index, query, seconds, min_reps=10):
    """Median wall seconds, best wall seconds and median thread-CPU seconds per single-query
    search, after one warm-up search (one OpenMP thread runs in this thread)."""
    index.search(query, K)
    wall, cpu = [], []
    start = time.perf_counter()
    while len(wall) < min_reps or time.perf_counter() - start < seconds:
        t0, c0 = time.perf_counter(), time.thread_time()
        index.search(query, K)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dump_dir", help="directory written by KB_BENCH_DUMP")
    ap.add_argument("--seconds", type=float, default=5.0, help="time per index and size")
    args = ap.parse_args()

    faiss.omp_set_num_threads(1)
    query = np.fromfile(os.path.join(args.dump_dir, "query.f32"), dtype="<f4").reshape(1, DIM)
    files = sorted(
        glob.glob(os.path.join(args.dump_dir, "vectors-*.f32")),
        key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0]),
    )
    opts = faiss.get_compile_options() if hasattr(faiss, "get_compile_options") else "?"
    print(f"faiss {faiss.__version__} ({opts}), threads {faiss.omp_get_max_threads()}, k {K}, dim {DIM}")
    print("| N | index | median ms/query | best ms/query | queries/s (median) | CPU ms/query | top-1 |")
    print("|---|---|---|---|---|---|---|")
    for path in files:
        xb = np.fromfile(path, dtype="<f4").reshape(-1, DIM)
        n = xb.shape[0]
        flat = faiss.IndexFlatIP(DIM)
        flat.add(xb)
        sq = faiss.IndexScalarQuantizer(DIM, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        sq.train(xb)
        sq.add(xb)
        for name, index in (("FlatIP", flat), ("SQ8", sq)):
            med, best, cpu = time_queries(index, query, args.seconds)
            _, ids = index.search(query, K)
            print(
                f"| {n} | {name} | {med * 1e3:.3f} | {best * 1e3:.3f} | {1 / med:.1f} "
                f"| {cpu * 1e3:.3f} | {ids[0][0]} |"
            )
        del flat, sq, xb


if __name__ == "__main__":
    main()
