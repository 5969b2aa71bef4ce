"""Is the dataset loader fast enough to keep an encoder busy?

Measures images/s of the loader alone (Fashion-MNIST test images decoded and preprocessed to
224 px tensors by the encoder's own transform, in DataLoader workers) against the bare batched
forward pass of the fastest encoders, and prints both with their ratio (loader / forward; above 1
the loader is not the bottleneck).

    .venv/bin/python benchmarks/loader_throughput.py [--workers 2] [--limit 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from embedkit import __version__, get_encoder
from embedkit.datasets import get_dataset
from embedkit.datasets.decode import DecodeReport, decode

ENCODERS = {"mobilenet_v2.imagenet1k_v2": {"weights": "random"}, "efficientnet_lite0.imagenet1k": {}}


def loader_rate(view, transform, batch_size: int, workers: int) -> tuple[float, DecodeReport]:
    report = DecodeReport()
    start = time.perf_counter()
    shapes = set()
    for batch in decode(view, transform, batch_size=batch_size, num_workers=workers, report=report):
        shapes.add(tuple(batch.values.shape[1:]))
    elapsed = time.perf_counter() - start
    assert shapes == {(3, 224, 224)}, shapes
    return report.read / elapsed, report


def forward_rate(encoder, pixels: torch.Tensor, repeats: int) -> float:
    encoder.embed_pixels(pixels)  # warm-up: allocations, kernel choice
    start = time.perf_counter()
    for _ in range(repeats):
        encoder.embed_pixels(pixels)
    return repeats * len(pixels) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=10_000, help="Fashion-MNIST test images to load")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--forward-batches", type=int, default=6, help="timed forward batches per encoder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    view = get_dataset("fashion-mnist").view("test", limit=args.limit)
    results = {
        "embedkit": __version__, "torch": torch.__version__, "cpus": os.cpu_count(), "machine": platform.machine(),
        "torch_threads": torch.get_num_threads(), "dataset": view.dataset_name, "split": view.split,
        "images": len(view), "workers": args.workers, "batch_size": args.batch_size, "encoders": {},
    }
    for name, options in ENCODERS.items():
        encoder = get_encoder(name, device=args.device, **options)
        loaded, report = loader_rate(view, encoder.preprocess, args.batch_size, args.workers)
        pixels = torch.stack([encoder.preprocess(view[i].image()) for i in range(args.batch_size)])
        forward = forward_rate(encoder, pixels, args.forward_batches)
        results["encoders"][name] = {
            "loader_images_per_s": round(loaded, 1), "forward_images_per_s": round(forward, 1),
            "ratio": round(loaded / forward, 2), "skipped": len(report.skipped),
            "weights": options.get("weights", "pretrained"),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{results['images']:,} {results['dataset']} {results['split']} images, {args.workers} workers, "
          f"batch {args.batch_size}, {results['cpus']} CPUs, "
          f"torch {results['torch']} ({results['torch_threads']} threads)")
    print(f"{'encoder':32} {'loader img/s':>13} {'forward img/s':>14} {'loader/forward':>15}")
    for name, row in results["encoders"].items():
        print(f"{name:32} {row['loader_images_per_s']:>13,.1f} {row['forward_images_per_s']:>14,.1f} "
              f"{row['ratio']:>15.2f}")


if __name__ == "__main__":
    main()
