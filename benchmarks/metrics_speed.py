"""Exact metrics for 10k queries over a 70k gallery at 1280-d: how long, on this machine.

    .venv/bin/python benchmarks/metrics_speed.py [--queries 10000 --gallery 70000 --dim 1280]

Clustered unit vectors in 10 classes stand in for stored embeddings. Times the whole exact
path of `embedkit bench`: chunked scoring, the relevant ranks of every query, and every metric
(mAP@5, P@10, AP, R-precision, MAP@R, recall@k, PR curve). Target: under 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from embedkit.bench import metrics
from embedkit.bench.ranking import exact_ranking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--gallery", type=int, default=70_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=256)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    labels = rng.integers(0, args.classes, args.gallery)
    centres = rng.standard_normal((args.classes, args.dim)).astype(np.float32)
    gallery = centres[labels] + 8.0 * rng.standard_normal((args.gallery, args.dim)).astype(np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    chosen = np.sort(rng.choice(args.gallery, args.queries, replace=False))

    started = time.perf_counter()
    ranking = exact_ranking(gallery[chosen], labels[chosen], gallery, labels, chosen, chunk=args.chunk)
    ranked = time.perf_counter()
    values = metrics.mean_metrics([metrics.query_metrics(r) for r in ranking.ranks])
    curve = np.mean([metrics.interpolated_precision(r) for r in ranking.ranks], axis=0)
    finished = time.perf_counter()

    total = finished - started
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.queries} queries x "
          f"{args.gallery} gallery x {args.dim}-d, leave-one-out, {args.classes} classes")
    print(f"scoring + relevant ranks: {ranked - started:.2f} s; metrics: {finished - ranked:.2f} s; "
          f"total {total:.2f} s ({args.queries / total:.0f} queries/s); target 10 s: ratio {10 / total:.2f}")
    print("mAP@5 {map@5:.4f}  P@10 {p@10:.4f}  AP {ap:.4f}".format(**values), f"PR@0.5 {curve[5]:.4f}")
    sample = gallery[chosen[: args.chunk]]
    tick = time.perf_counter()
    np.matmul(sample, gallery.T)  # as exact_ranking scores: numpy's BLAS
    matmul = (time.perf_counter() - tick) * args.queries / args.chunk
    with torch.inference_mode():
        tick = time.perf_counter()
        torch.from_numpy(sample) @ torch.from_numpy(gallery).T
        torch_matmul = (time.perf_counter() - tick) * args.queries / args.chunk
    flops = 2 * args.queries * args.gallery * args.dim
    print(f"of which the fp32 score matrix products alone: about {matmul:.1f} s ({flops / matmul / 1e9:.0f} GFLOP/s; "
          f"torch's BLAS would take {torch_matmul:.1f} s)")


if __name__ == "__main__":
    main()
