"""Ingest end to end against the encoder's bare batched forward pass, and ingest's peak memory.

    .venv/bin/python benchmarks/ingest_throughput.py --encoders mobilenet_v2,resnet50 --limit 2000

For each encoder: images/s of (a) the bare forward pass over preprocessed 224 px batches already
in memory (this machine's compute limit), (b) `embedkit.ingest` of Fashion-MNIST test images into
a fresh embedded store, same batch size and precision; prints the ratio (target >= 0.9) and the
peak RSS of the ingest process (run in a subprocess so each figure is its own).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from embedkit.encoders.precision import choose_precision


def encoder_options(args) -> dict:
    options = {"weights": None if args.weights == "pretrained" else args.weights, "device": "cpu",
               "precision": args.precision}
    if args.image_size:
        options["image_size"] = args.image_size
    return options


def bare_forward(encoder_name: str, options: dict, batch_size: int, batches: int) -> float:
    from embedkit import get_encoder
    from embedkit.datasets import get_dataset

    encoder = get_encoder(encoder_name, **options)
    view = get_dataset("fashion-mnist").view("test", batch_size * batches)
    pixels = [torch.stack([encoder.preprocess(view[i].image()) for i in range(b * batch_size, (b + 1) * batch_size)])
              for b in range(batches)]
    encoder.embed_pixels(pixels[0])  # warm-up
    started = time.perf_counter()
    for batch in pixels:
        encoder.embed_pixels(batch)
    return batches * batch_size / (time.perf_counter() - started)


def ingest_once(encoder_name: str, options: dict, batch_size: int, split: str | None, limit: int | None,
                workers: int | None, prebuilt: bool) -> dict:
    from embedkit import get_encoder
    from embedkit.ingestion import ingest

    encoder = get_encoder(encoder_name, **options) if prebuilt else encoder_name
    with tempfile.TemporaryDirectory() as store:
        started = time.perf_counter()
        report = ingest("fashion-mnist", encoder, split=split, limit=limit, batch_size=batch_size,
                        workers=workers, store=store, **({} if prebuilt else options))
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"stored": report.stored, "seconds": seconds, "images_per_second": report.stored / seconds,
            "index_seconds": report.index_seconds,
            "images_per_second_before_index": report.stored / (seconds - report.index_seconds),
            "peak_rss_mb": peak_mb, "worker_peak_rss_mb": children_mb, "workers": report.workers}


def store_alone(count: int, dim: int, batch_size: int) -> dict:
    """Peak RSS of the same writes without any encoding: the store's own memory."""
    import numpy as np

    from embedkit.records import VectorRecord
    from embedkit.store import open_store

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as path, open_store(path) as store:
        store.ensure_vector("c", "v", VectorRecord("random", dim))
        for start in range(0, count, batch_size):
            n = min(batch_size, count - start)
            vectors = rng.standard_normal((n, dim)).astype(np.float32)
            store.upsert("c", "v", [f"s{start + i}" for i in range(n)], vectors / np.linalg.norm(vectors, axis=1)[:, None],
                         [{"label": int(i % 10), "split": "test"} for i in range(n)])
        store.optimize("c")
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoders", default="mobilenet_v2,resnet50")
    parser.add_argument("--weights", default="random", help="'random' (same compute) or pretrained (default tag)")
    parser.add_argument("--limit", type=int, default=2000, help="0 for the whole split")
    parser.add_argument("--split", default="test", help="'all' for train+test (70k)")
    parser.add_argument("--image-size", type=int, default=None, help="input size (default: the weights' 224)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="auto", help="auto (the default): what this CPU computes fast")
    parser.add_argument("--workers", type=int, default=None,
                        help="decoding processes (default: ingest's own choice, from its first batch)")
    parser.add_argument("--store-alone", action="store_true",
                        help="also measure the peak RSS of writing as many random vectors without encoding")
    parser.add_argument("--bare-images", type=int, default=640,
                        help="images the bare forward pass is timed over (at most --limit)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="bare and ingest runs taken in turn this many times; the median paired ratio is printed")
    parser.add_argument("--prebuilt", action="store_true",
                        help="build the encoder before ingest's clock starts (leave its loading out)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    options = encoder_options(args)
    if args.child:
        kind, name = args.child.split(":", 1)
        if kind == "store":
            count, dim = map(int, name.split("x"))
            print(json.dumps(store_alone(count, dim, args.batch_size)))
        elif kind == "bare":
            batches = max(2, min(args.limit or 640, args.bare_images) // args.batch_size)
            print(json.dumps({"images_per_second": bare_forward(name, options, args.batch_size, batches)}))
        else:
            split = None if args.split == "all" else args.split
            print(json.dumps(ingest_once(name, options, args.batch_size, split, args.limit or None, args.workers,
                                         args.prebuilt)))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; fashion-mnist {args.split}, "
          f"limit {args.limit or 'none'}, batch {args.batch_size}, "
          f"{choose_precision(args.precision).line}, "
          f"workers {'auto' if args.workers is None else args.workers}, "
          f"weights {args.weights}, image size {args.image_size or 'default'}")
    print(f"{'encoder':<16}{'bare img/s':>12}{'ingest img/s':>14}{'ratio':>8}{'w/o index':>11}{'ratio':>8}"
          f"{'index s':>9}{'stored':>8}{'peak RSS MB':>13}{'worker RSS MB':>15}")
    for name in args.encoders.split(","):
        ratios = []
        for _ in range(args.repeat):  # in turn, so that a drift of the machine's speed moves both alike
            runs = {}
            for kind in ("bare", "ingest"):
                out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--child", f"{kind}:{name}"],
                                     capture_output=True, text=True, check=True)
                runs[kind] = json.loads(out.stdout.strip().splitlines()[-1])
            ratios.append(runs["ingest"]["images_per_second"] / runs["bare"]["images_per_second"])
            if args.repeat > 1:
                print(f"  run {len(ratios)}: bare {runs['bare']['images_per_second']:.1f} img/s, ingest "
                      f"{runs['ingest']['images_per_second']:.1f} img/s, ratio {ratios[-1]:.2f}")
        if args.repeat > 1:
            print(f"  median ratio of {args.repeat} paired runs: {statistics.median(ratios):.2f} "
                  f"(from {min(ratios):.2f} to {max(ratios):.2f}); the last run:")
        bare, ingested = runs["bare"]["images_per_second"], runs["ingest"]
        before_index = ingested["images_per_second_before_index"]
        print(f"{name:<16}{bare:>12.1f}{ingested['images_per_second']:>14.1f}"
              f"{ingested['images_per_second'] / bare:>8.2f}{before_index:>11.1f}{before_index / bare:>8.2f}"
              f"{ingested['index_seconds']:>9.1f}{ingested['stored']:>8}{ingested['peak_rss_mb']:>13.0f}"
              f"{ingested['worker_peak_rss_mb']:>15.0f}  (decoding workers: {ingested['workers']})")
        if args.store_alone:
            from embedkit import get_encoder

            dim = get_encoder(name, **options).dim
            out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--child", f"store:{ingested['stored']}x{dim}"],
                                 capture_output=True, text=True, check=True)
            alone = json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]
            print(f"  the store alone, {ingested['stored']} x {dim} random vectors in the same batches: "
                  f"peak RSS {alone:.0f} MB; ingest adds {ingested['peak_rss_mb'] - alone:.0f} MB")


if __name__ == "__main__":
    main()
