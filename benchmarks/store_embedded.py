"""Embedded store (Qdrant Edge) benchmark: upsert rate, reopen time, top-10 latency and recall@10 vs exact.

    .venv/bin/python benchmarks/store_embedded.py                   # 70k x 2048, the issue's targets
    .venv/bin/python benchmarks/store_embedded.py --points 10000    # a quick run

Targets (issue 4): upsert >= 20k points/s at 2048-d; reopen of 70k x 2048 < 2 s;
top-10 query p50 < 10 ms at 70k x 2048 with recall@10 >= 0.99 against exact search.
Data: random unit vectors (the hard case for HNSW: no structure), and with --data clustered, unit vectors
around 1,000 centres (closer to real image embeddings).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import embedkit
from embedkit.records import VectorRecord
from embedkit.store import open_store

TARGET_UPSERT = 20_000
TARGET_REOPEN_S = 2.0
TARGET_P50_MS = 10.0
TARGET_RECALL = 0.99


def make_data(kind: str, n: int, queries: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "random":
        data = rng.standard_normal((n + queries, dim), dtype=np.float32)
    else:
        centres = rng.standard_normal((1000, dim), dtype=np.float32)
        data = centres[rng.integers(0, 1000, n + queries)] + 0.7 * rng.standard_normal((n + queries, dim), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    return data[:n], data[n:]


def exact_top10(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    tops = []
    for start in range(0, len(queries), 64):
        scores = queries[start : start + 64] @ data.T
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        tops.append(top)
    return np.concatenate(tops)


def run(kind: str, args: argparse.Namespace, root: Path) -> None:
    data, queries = make_data(kind, args.points, args.queries, args.dim, args.seed)
    ids = [f"s{i}" for i in range(len(data))]
    payloads = [{"dataset": "bench", "split": "test", "label": i % 10} for i in range(len(data))]
    encoder = VectorRecord("bench", args.dim, weights=kind)
    path = root / kind

    with open_store(path) as store:
        store.ensure_vector("bench", "bench", encoder)
        started = time.perf_counter()
        for start in range(0, len(data), args.batch):
            stop = start + args.batch
            store.upsert("bench", "bench", ids[start:stop], data[start:stop], payloads[start:stop])
        store.flush()
        upsert_s = time.perf_counter() - started
        started = time.perf_counter()
        store.optimize("bench")
        index_s = time.perf_counter() - started

    started = time.perf_counter()
    store = open_store(path)
    count = store.count("bench")
    reopen_s = time.perf_counter() - started
    assert count == len(data), (count, len(data))

    truth = exact_top10(data, queries)
    exact_ms = []
    for query in queries[:20]:
        t = time.perf_counter()
        store.search("bench", "bench", query, 10, exact=True)
        exact_ms.append((time.perf_counter() - t) * 1000)

    rate = len(data) / upsert_s
    print(f"\n== {kind} unit vectors, {len(data):,} x {args.dim} ==")
    print(f"upsert        {rate:10,.0f} points/s   ({upsert_s:.1f} s)        target >= {TARGET_UPSERT:,}: "
          f"ratio {rate / TARGET_UPSERT:.2f}")
    print(f"HNSW build    {index_s:10.1f} s          (store.optimize, once after the bulk load)")
    print(f"reopen        {reopen_s:10.3f} s                         target < {TARGET_REOPEN_S} s: "
          f"ratio {TARGET_REOPEN_S / reopen_s:.1f}x under")
    print(f"exact search  {np.median(exact_ms):10.1f} ms p50 (full scan, for reference)")
    for ef in args.ef:
        store.hnsw_ef = ef
        latencies, recalls = [], []
        for query, expected in zip(queries, truth):
            t = time.perf_counter()
            hits = store.search("bench", "bench", query, 10)
            latencies.append((time.perf_counter() - t) * 1000)
            found = {int(h.sample_id[1:]) for h in hits}
            recalls.append(len(found & set(expected.tolist())) / 10)
        p50, p95, recall = np.median(latencies), np.percentile(latencies, 95), float(np.mean(recalls))
        print(f"top-10 ef={ef:<4} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  recall@10 {recall:.4f}   "
              f"p50 ratio {TARGET_P50_MS / p50:.1f}x under {TARGET_P50_MS} ms; "
              f"recall {'meets' if recall >= TARGET_RECALL else 'misses'} {TARGET_RECALL}")
    store.close()
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"on disk       {size / 2**20:10,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=70_000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1024, help="points per Store.upsert call")
    parser.add_argument("--ef", type=lambda s: [int(x) for x in s.split(",")], default=[128, 256],
                        help="HNSW ef values to measure, comma-separated")
    parser.add_argument("--data", choices=["random", "clustered", "both"], default="random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="where to build the stores (default: a temp dir)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when the output goes to a file

    print(f"embedkit {embedkit.__version__}, qdrant-edge-py 0.9.0, Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs")
    root = Path(tempfile.mkdtemp(prefix="embedkit-bench-", dir=args.dir))
    try:
        for kind in (["random", "clustered"] if args.data == "both" else [args.data]):
            run(kind, args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"peak RSS      {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:10.2f} GiB")


if __name__ == "__main__":
    main()
