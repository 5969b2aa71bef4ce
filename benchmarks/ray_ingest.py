"""Ingest in one process against ingest on a local Ray cluster with 1 and 2 embedding actors: same images, same
encoder, a fresh embedded store each run.

    .venv/bin/python benchmarks/ray_ingest.py                      # 3,000 Fashion-MNIST test images, 3 runs each
    .venv/bin/python benchmarks/ray_ingest.py --images 10000 --encoder efficientnet_lite0 --image-size 224

The Ray cluster is started once, before the timed runs, as on a cluster that is already up (`--ray auto`); its
start is timed on its own. Each run is a whole `ingest(...)` call (choosing what to encode, decoding, embedding,
writing, the index build). Prints the median seconds and images/s of each way and the ratios to one process.

Targets (issue "Distributed ingest on Ray Data"): Ray with 1 actor within 15% of one process; 2 actors faster than
1 where the encoder, not decoding, is the limit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import ray

from embedkit.ingestion import IngestOptions, RayIngest, ingest

TARGET_OVERHEAD = 0.15


def timed_runs(label: str, runs: int, images: int, make_run) -> dict:
    seconds = []
    for attempt in range(runs):
        store = Path(tempfile.mkdtemp(prefix="ray-bench-"))
        try:
            started = time.perf_counter()
            report = make_run(store)
            seconds.append(time.perf_counter() - started)
        finally:
            shutil.rmtree(store, ignore_errors=True)
        if report.stored != images or report.failures:
            raise SystemExit(f"{label}: stored {report.stored} of {images}, {len(report.failures)} failed")
        print(f"  {label} run {attempt + 1}: {seconds[-1]:.1f} s", flush=True)
    median = statistics.median(seconds)
    return {"way": label, "seconds_median": round(median, 2), "seconds_all": [round(s, 2) for s in seconds],
            "images_per_second": round(images / median, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--split", default="test")
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--encoder", default="efficientnet_lite0")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Also write the figures here as JSON.")
    args = parser.parse_args()

    common = dict(split=args.split, limit=args.images, image_size=args.image_size, batch_size=args.batch_size)
    print(f"{args.images} {args.dataset} images, {args.encoder} at {args.image_size} px, batches of "
          f"{args.batch_size}, {os.cpu_count()} CPUs, {args.runs} runs each", flush=True)
    ingest(args.dataset, args.encoder, store=Path(tempfile.mkdtemp()), **{**common, "limit": 8})  # warm caches

    rows = [timed_runs("one process", args.runs, args.images,
                       lambda store: ingest(args.dataset, args.encoder, store=store, **common))]
    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
    cluster_start = time.perf_counter() - started
    try:
        for actors in (1, 2):
            rows.append(timed_runs(f"Ray, {actors} actor{'s' * (actors > 1)}", args.runs, args.images,
                                   lambda store: ingest(args.dataset, args.encoder, store=store,
                                                        options=IngestOptions(ray=RayIngest(actors=actors)), **common)))
    finally:
        ray.shutdown()

    single = rows[0]["seconds_median"]
    print(f"\nlocal Ray cluster start: {cluster_start:.1f} s (once; not in the runs below)")
    print(f"{'way':<16} {'median s':>9} {'images/s':>9} {'x one process':>14}")
    for row in rows:
        row["ratio_to_one_process"] = round(row["seconds_median"] / single, 3)
        print(f"{row['way']:<16} {row['seconds_median']:>9.1f} {row['images_per_second']:>9.1f} "
              f"{row['ratio_to_one_process']:>14.2f}")
    overhead = rows[1]["ratio_to_one_process"] - 1
    print(f"Ray with 1 actor: {overhead:+.0%} against one process (target within {TARGET_OVERHEAD:.0%}): "
          f"{'met' if overhead <= TARGET_OVERHEAD else 'not met'}")
    print(f"2 actors against 1: {rows[1]['seconds_median'] / rows[2]['seconds_median']:.2f} x as fast")
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "cluster_start_seconds": round(cluster_start, 2),
                                        "machine": platform.platform(), "cpus": os.cpu_count(),
                                        "arguments": {k: str(v) for k, v in vars(args).items()}}, indent=2))


if __name__ == "__main__":
    main()
