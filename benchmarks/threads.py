"""Threads and decoding processes by the machine: ingest's automatic choice against hand-picked settings.

For Fashion-MNIST test arrays with EfficientNet-Lite0, and a folder of 12 MP JPEGs with EfficientNet-Lite0
and with resnet50.random: ingest images/s (index build left out) into a fresh embedded store, for the
automatic choice (`embedkit.machine`: torch threads by the cores available, decoding processes by the first
batch) and for a small grid of (threads, workers) set by hand (OMP_NUM_THREADS, `workers=`). The settings
take turns `--repeat` times and each keeps its best figure, so that a drift of a shared machine moves them
alike; one warm-up ingest per case first. Prints each figure and auto / best hand-picked (target >= 0.95).

    .venv/bin/python benchmarks/threads.py            # the full run, on a quiet machine (about 20 min on 2 cores)
    .venv/bin/python benchmarks/threads.py --quick    # a few seconds: that it runs
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from embedkit import __version__, get_encoder
from embedkit.ingestion import ingest
from embedkit.machine import THREADS_VARIABLE, cores_available
from generated import fashion_mnist, photos

CASES = (("arrays", "efficientnet-lite0"), ("photos", "efficientnet-lite0"), ("photos", "resnet50.random"))
TARGET = 0.95


class ChoiceHeard(logging.Handler):
    """The (cores, workers, threads) that `embedkit.machine` logs when it splits the cores."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.split: tuple[int, int, int] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "embedkit.machine" and isinstance(record.args, tuple) and len(record.args) == 3:
            self.split = tuple(int(value) for value in record.args)  # type: ignore[assignment]


def grid(text: str | None, cores: int) -> list[tuple[int, int]]:
    """`THREADSxWORKERS,...`, or a small grid around the cores: threads 1, cores/2, cores; workers 0, 1, cores/2, cores."""
    if text:
        return [tuple(int(part) for part in item.split("x")) for item in text.split(",")]  # type: ignore[misc]
    threads = sorted({1, max(1, cores // 2), cores})
    workers = sorted({0, 1, max(1, cores // 2), cores})
    return [(t, w) for t in threads for w in workers]


def ingest_rate(source, encoder, limit: int, batch_size: int, setting: tuple[int, int] | None) -> dict:
    """Images/s of one ingest (index build left out), with `setting` = (threads, workers), or None for auto."""
    heard = ChoiceHeard()
    logger = logging.getLogger("embedkit.machine")
    logger.addHandler(heard)
    logger.setLevel(logging.INFO)
    if setting is None:
        os.environ.pop(THREADS_VARIABLE, None)
        workers = None
    else:
        os.environ[THREADS_VARIABLE] = str(setting[0])  # embedkit leaves torch's threads as they are set here
        torch.set_num_threads(setting[0])
        workers = setting[1]
    dataset, split = source
    try:
        with tempfile.TemporaryDirectory() as store:
            report = ingest(dataset, encoder, split=split, limit=limit, batch_size=batch_size, workers=workers,
                            store=store)
    finally:
        logger.removeHandler(heard)
    threads = setting[0] if setting else (heard.split[2] if heard.split else torch.get_num_threads())
    return {"threads": threads, "workers": report.workers, "stored": report.stored,
            "images_per_second": report.stored / max(report.seconds - report.index_seconds, 1e-9)}


def run_case(kind: str, name: str, args, settings: list[tuple[int, int]], sources: dict) -> dict:
    encoder = get_encoder(name, device="cpu", precision=args.precision)
    source, limit, described = sources[kind]
    ingest_rate(source, encoder, min(limit, args.batch_size), args.batch_size, None)  # warm-up
    best: dict[str, dict] = {}
    for _ in range(args.repeat):
        for setting in [None, *settings]:
            row = ingest_rate(source, encoder, limit, args.batch_size, setting)
            key = "auto" if setting is None else f"{setting[0]}x{setting[1]}"
            if key not in best or row["images_per_second"] > best[key]["images_per_second"]:
                best[key] = row
    picked = max((row["images_per_second"] for key, row in best.items() if key != "auto"), default=None)
    ratio = best["auto"]["images_per_second"] / picked if picked else None
    return {"case": f"{described}, {encoder.vector_name} {encoder.precision}", "images": limit,
            "settings": best, "auto_over_best": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few images and two hand-picked settings")
    parser.add_argument("--arrays", type=int, default=2000, help="Fashion-MNIST test images")
    parser.add_argument("--photos", type=int, default=96, help="12 MP JPEGs")
    parser.add_argument("--photos-folder", type=Path, default=None, help="where the JPEGs are made once")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--grid", default=None, help="hand-picked THREADSxWORKERS,... (default: around the cores)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--generated-arrays", action="store_true", help="generated arrays even if Fashion-MNIST is there")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    cores = cores_available()
    if args.quick:
        args.arrays, args.photos, args.batch_size, args.repeat = 32, 2, 16, 1
        args.grid = args.grid or f"{cores}x0,1x1"
    started = time.perf_counter()
    arrays, arrays_said = fashion_mnist(args.generated_arrays)
    folder, photos_said = photos(args.photos, args.photos_folder)
    sources = {"arrays": ((arrays, "test"), args.arrays, arrays_said),
               "photos": ((folder, None), args.photos, photos_said)}
    settings = grid(args.grid, cores)
    header = {"embedkit": __version__, "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
              "capability": torch.backends.cpu.get_cpu_capability(), "cores_available": cores,
              "os_cpu_count": os.cpu_count(), "precision": args.precision, "batch_size": args.batch_size,
              "repeat": args.repeat}
    print(", ".join(f"{key} {value}" for key, value in header.items()), flush=True)
    results = []
    for kind, name in CASES:
        result = run_case(kind, name, args, settings, sources)
        results.append(result)
        print(f"\n{result['case']}, {result['images']} images")
        for key, row in result["settings"].items():
            label = (f"auto ({row['threads']} threads, {row['workers']} workers)" if key == "auto"
                     else f"{row['threads']} threads, {row['workers']} workers")
            print(f"  {label:36} {row['images_per_second']:8.1f} images/s")
        ratio = result["auto_over_best"]
        if ratio is not None:
            print(f"  auto / best hand-picked: {ratio:.3f} ({'meets' if ratio >= TARGET else 'misses'} the target "
                  f">= {TARGET})", flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    if args.json:
        args.json.write_text(json.dumps({**header, "results": results}, indent=2))


if __name__ == "__main__":
    main()
