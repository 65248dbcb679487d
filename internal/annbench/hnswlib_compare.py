#!/usr/bin/python3
"""Reference numbers from hnswlib on the same TEXMEX files as annbench.

Usage (Debian: apt-get install python3-hnswlib python3-numpy):
  /usr/bin/python3 internal/annbench/hnswlib_compare.py DIR [--ef 10,20,40,80,160]
      [--m 16] [--efc 200] [--k 10] [--threads 2] [--json]
DIR holds base.fvecs, query.fvecs and gt.ivecs (as written by
`annbench gen --out DIR`). Searches run single-threaded, one query at a
time, exactly like annbench.Run.
"""
import argparse
import json
import os
import sys
import time

import hnswlib
import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        return np.zeros((0, 0), dtype=dtype)
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)
    if not (rows[:, 0] == dim).all():
        sys.exit(f"{path}: inconsistent dimensions")
    return rows[:, 1:].copy().view(dtype)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--ef", default="10,20,40,80,160")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    base = read_vecs(os.path.join(a.dir, "base.fvecs"), np.float32)
    query = read_vecs(os.path.join(a.dir, "query.fvecs"), np.float32)
    gt = read_vecs(os.path.join(a.dir, "gt.ivecs"), np.int32)[:, : a.k]
    n, dim = base.shape
    idx = hnswlib.Index(space="l2", dim=dim)
    idx.init_index(max_elements=n, M=a.m, ef_construction=a.efc, random_seed=100)
    idx.set_num_threads(a.threads)
    t0 = time.perf_counter()
    idx.add_items(base, np.arange(n))
    build = time.perf_counter() - t0
    idx.set_num_threads(1)
    print(f"hnswlib build: {n} vectors in {build:.2f}s on {a.threads} threads", file=sys.stderr)
    points = []
    for ef in [int(x) for x in a.ef.split(",")]:
        idx.set_ef(max(ef, a.k))
        hits = 0
        lat = []
        t0 = time.perf_counter()
        for i in range(len(query)):
            q0 = time.perf_counter()
            labels, _ = idx.knn_query(query[i : i + 1], k=a.k)
            lat.append(time.perf_counter() - q0)
            hits += len(set(labels[0].tolist()) & set(gt[i].tolist()))
        el = time.perf_counter() - t0
        lat.sort()
        p = {"ef": ef, "recall": hits / (len(query) * a.k), "qps": len(query) / el}
        points.append(p)
        print(f"hnswlib ef={ef:<4d} recall@{a.k}={p['recall']:.4f} qps={p['qps']:.0f} "
              f"p50={lat[len(lat)//2]*1e6:.0f}us p99={lat[len(lat)*99//100]*1e6:.0f}us", file=sys.stderr)
    if a.json:
        print(json.dumps(points))


if __name__ == "__main__":
    main()
