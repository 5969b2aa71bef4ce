"""Real-size photos: the loader with full and with reduced JPEG decoding, and ingest against the bare forward.

Makes once a folder of 12-megapixel JPEGs (4000 x 3000) from real photos (scikit-image's and
scikit-learn's sample photos, randomly cropped, flipped, tinted and scaled up), then, per encoder:
- the loader alone: images/s of 2 DataLoader workers reading the folder and running the encoder's
  transform, decoding each JPEG at full size and at the reduced scale ingest uses;
- the bare batched forward pass (preprocessed batches of 32, after a warm-up batch);
- ingest end to end into a fresh embedded store (index build excluded), with reduced and with full decoding.

    .venv/bin/python benchmarks/photo_folder_throughput.py [--count 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from embedkit import __version__, get_encoder
from embedkit.datasets import get_dataset
from embedkit.datasets.decode import DecodeReport, decode
from embedkit.images import ReadOptions, load_image
from embedkit.ingestion import IngestOptions, ingest

SIZE = (4000, 3000)
ENCODERS = {"efficientnet-lite0": {"precision": "auto"}, "resnet50.random": {"precision": "auto"}}


def real_photos() -> list[Image.Image]:
    from skimage import data
    from sklearn.datasets import load_sample_images

    photos = [Image.fromarray(getattr(data, name)()).convert("RGB") for name in ("astronaut", "chelsea", "coffee", "rocket")]
    return photos + [Image.fromarray(image) for image in load_sample_images().images]


def make_photo(task: tuple[int, Path]) -> None:
    index, path = task
    rng = np.random.default_rng(index)
    photos = real_photos()
    photo = photos[index % len(photos)]
    width = int(photo.width * rng.uniform(0.6, 1.0))
    height = min(photo.height, int(width * 3 / 4))
    left, top = rng.integers(0, photo.width - width + 1), rng.integers(0, photo.height - height + 1)
    picture = photo.crop((left, top, left + width, top + height))
    if rng.random() < 0.5:
        picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    tint = np.clip(np.asarray(picture, dtype=np.float32) * rng.uniform(0.85, 1.15, 3), 0, 255).astype(np.uint8)
    Image.fromarray(tint).resize(SIZE, Image.Resampling.BICUBIC).save(path, quality=90)


def photo_folder(folder: Path, count: int) -> Path:
    """`folder/photos/NNNN.jpg`, made once: a folder dataset with one class."""
    target = folder / "photos"
    target.mkdir(parents=True, exist_ok=True)
    todo = [(i, target / f"{i:04d}.jpg") for i in range(count) if not (target / f"{i:04d}.jpg").is_file()]
    if todo:
        with Pool(os.cpu_count() or 2) as pool:
            pool.map(make_photo, todo)
    return folder


def loader_rate(view, transform, reading: ReadOptions, workers: int) -> float:
    report = DecodeReport()
    start = time.perf_counter()
    for _ in decode(view, transform, batch_size=32, num_workers=workers, report=report, reading=reading):
        pass
    return report.read / (time.perf_counter() - start)


def forward_rate(encoder, view, repeats: int = 4) -> float:
    pixels = torch.stack([encoder.preprocess(load_image(view[i].source, ReadOptions(draft_size=encoder.input_size)))
                          for i in range(32)])
    encoder.embed_pixels(pixels)
    start = time.perf_counter()
    for _ in range(repeats):
        encoder.embed_pixels(pixels)
    return repeats * len(pixels) / (time.perf_counter() - start)


def ingest_rate(folder: Path, encoder, reduced: bool, workers: int) -> float:
    with tempfile.TemporaryDirectory() as store:
        report = ingest(f"folder:{folder}", encoder, store=store, workers=workers, batch_size=32,
                        options=IngestOptions(reduced_decoding=reduced))
    return report.stored / (report.seconds - report.index_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "embedkit-photos-12mp")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = photo_folder(args.folder, args.count)
    view = get_dataset(f"folder:{folder}").view(limit=args.count)
    rows = []
    for name, options in ENCODERS.items():
        encoder = get_encoder(name, device="cpu", **options)
        row = {"encoder": encoder.vector_name, "precision": encoder.precision, "input_size": encoder.input_size,
               "loader_full": loader_rate(view, encoder.preprocess, ReadOptions(), args.workers),
               "loader_reduced": loader_rate(view, encoder.preprocess, ReadOptions(draft_size=encoder.input_size),
                                             args.workers),
               "forward": forward_rate(encoder, view),
               "ingest_full": ingest_rate(folder, encoder, False, args.workers),
               "ingest_reduced": ingest_rate(folder, encoder, True, args.workers)}
        rows.append(row)
    header = {"embedkit": __version__, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "photos": len(view), "size": f"{SIZE[0]} x {SIZE[1]}", "workers": args.workers}
    if args.json:
        print(json.dumps({**header, "rows": rows}, indent=2))
        return
    print(", ".join(f"{key} {value}" for key, value in header.items()))
    print(f"{'encoder':32} {'loader full':>12} {'loader red.':>12} {'forward':>8} {'ingest full':>12} "
          f"{'ingest red.':>12} {'red./fwd':>9}")
    for row in rows:
        print(f"{row['encoder'] + ' ' + row['precision']:32} {row['loader_full']:12.1f} {row['loader_reduced']:12.1f} "
              f"{row['forward']:8.1f} {row['ingest_full']:12.1f} {row['ingest_reduced']:12.1f} "
              f"{row['ingest_reduced'] / row['forward']:9.2f}")


if __name__ == "__main__":
    main()
