"""Qdrant's quantization on random clustered vectors (no model, no dataset): the figures of
`embedkit bench --quantization` on N points of DIM floats in CLUSTERS Gaussian clusters (relevant = same cluster).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/quantization_random.py --points 10000 --dim 1280 --queries 1000
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from embedkit.analysis.vectors import LabelledVectors
from embedkit.bench.protocols import Task, sample_queries
from embedkit.bench.quantization import KINDS, evaluate_quantizations
from embedkit.bench.ranking import exact_ranking


def clustered(points: int, dim: int, clusters: int, spread: float, seed: int) -> LabelledVectors:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    labels = rng.integers(0, clusters, points)
    vectors = centres[labels] + spread * rng.standard_normal((points, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return LabelledVectors([f"r{i:06d}" for i in range(points)], vectors, labels, {}, points, ["all"] * points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--spread", type=float, default=1.5, help="noise per coordinate, the centres' being 1")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    gallery = clustered(args.points, args.dim, args.clusters, args.spread, args.seed)
    chosen = sample_queries(args.points, args.queries, args.seed)
    task = Task("leave-one-out", gallery.subset(chosen), gallery, chosen)
    top = exact_ranking(task.queries.vectors, task.queries.labels, gallery.vectors, gallery.labels, chosen).top
    started = time.perf_counter()
    measured = evaluate_quantizations(task, tuple(args.kinds.split(",")), top)
    print(f"{args.points} points x {args.dim} floats, {args.clusters} clusters (spread {args.spread}), "
          f"{len(chosen)} queries; {time.perf_counter() - started:.0f} s; {platform.processor() or platform.machine()}")
    print("| kind | search | recall@10 vs exact | mAP@5 | P@10 | vector B/point | quantized B/point | HNSW B/point "
          "| p50 ms | build s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind, entry in measured.items():
        quantized = f"{entry['quantized_bytes_per_point']:.0f}" if entry["quantized_built"] else "-"
        for name, found in entry["searches"].items():
            print(f"| {kind} | {name} | {found['recall@10_vs_exact']:.3f} | {found['map@5']:.4f} | {found['p@10']:.4f} "
                  f"| {entry['vectors_bytes_per_point']:.0f} | {quantized} | {entry['hnsw_bytes_per_point']:.0f} "
                  f"| {found['latency_p50_ms']:.2f} | {entry['build_seconds']:.1f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(measured, handle, indent=2)


if __name__ == "__main__":
    main()
