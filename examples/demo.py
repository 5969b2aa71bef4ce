"""The README's demo: embed a few real photos with EfficientNet-Lite0 and compare them."""

from __future__ import annotations

import time

from PIL import Image, ImageOps
from rich.console import Console
from rich.table import Table
from skimage import data

import embedkit


def main() -> None:
    console = Console()
    cat = Image.fromarray(data.chelsea())
    photos = {
        "cat": cat,
        "cat mirrored": ImageOps.mirror(cat.crop((40, 20, 400, 280))),
        "coffee": Image.fromarray(data.coffee()),
        "astronaut": Image.fromarray(data.astronaut()),
        "rocket": Image.fromarray(data.rocket()),
    }
    started = time.perf_counter()
    encoder = embedkit.get_encoder("efficientnet-lite0")
    vectors = encoder.encode(list(photos.values()))
    elapsed = time.perf_counter() - started
    console.print(f"embedkit {embedkit.__version__}: {len(photos)} photos embedded with "
                  f"[bold]{encoder.name}[/] ({encoder.dim}-d, {encoder.device}) in {elapsed:.1f} s")

    table = Table(title="cosine similarity")
    table.add_column("")
    for name in photos:
        table.add_column(name, justify="right")
    similarity = vectors @ vectors.T
    for name, row in zip(photos, similarity):
        table.add_row(name, *(f"{value:.2f}" for value in row))
    console.print(table)


if __name__ == "__main__":
    main()
