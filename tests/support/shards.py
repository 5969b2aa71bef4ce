"""Shards written by the real tools: img2dataset (WebDataset tars and Parquet) downloading generated images from
a local HTTP server on 127.0.0.1, and `datasets` (save_to_disk, to_parquet)."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("circle", "square")
IMAGES = 16
PER_SHARD = 5

IMG2DATASET = """
import sys
from img2dataset import download
for fmt in ("webdataset", "parquet"):
    download(url_list=sys.argv[1], input_format="csv", url_col="url", caption_col="caption",
             save_additional_columns=["label"], output_format=fmt, output_folder=f"{sys.argv[2]}/{fmt}",
             processes_count=1, thread_count=4, resize_mode="no", number_sample_per_shard=int(sys.argv[3]),
             distributor="multiprocessing", timeout=5, retries=0, disallowed_header_directives=[])
"""


def shape_image(index: int) -> Image.Image:
    """A picture of its class (a disc or a square), at a position and in colours of its own."""
    rng = np.random.default_rng(index)
    size = 48
    pixels = np.full((size, size, 3), rng.integers(0, 80, 3), dtype=np.uint8)
    y, x = np.mgrid[:size, :size]
    cy, cx = rng.integers(16, 32, 2)
    inside = ((y - cy) ** 2 + (x - cx) ** 2 < 121) if index % 2 == 0 else ((abs(y - cy) < 10) & (abs(x - cx) < 10))
    pixels[inside] = rng.integers(150, 255, 3)
    return Image.fromarray(pixels)


@dataclass
class MadeShards:
    images: Path
    """The generated images, as a folder of one sub-folder per class (what the shards hold)."""
    webdataset: Path
    parquet: Path
    hf_saved: Path
    hf_parquet: Path
    count: int


def serve_folder(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def make_shards(root: Path, count: int = IMAGES, per_shard: int = PER_SHARD) -> MadeShards:
    images = root / "images"
    rows = ["url,caption,label"]
    for index in range(count):
        label = CLASSES[index % 2]
        (images / label).mkdir(parents=True, exist_ok=True)
        shape_image(index).save(images / label / f"{index:04d}.png")
        rows.append(f"{{base}}/{label}/{index:04d}.png,a {label} number {index},{label}")
    server, base = serve_folder(images)
    try:
        (root / "urls.csv").write_text("\n".join(rows).format(base=base) + "\n")
        subprocess.run([sys.executable, "-c", IMG2DATASET, str(root / "urls.csv"), str(root), str(per_shard)],
                       check=True, capture_output=True, timeout=180,
                       env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "disabled"})
    finally:
        server.shutdown()
    _save_hf(root, images, count)
    return MadeShards(images, root / "webdataset", root / "parquet", root / "hf-saved", root / "hf-parquet", count)


def _save_hf(root: Path, images: Path, count: int) -> None:
    import datasets

    datasets.disable_progress_bars()
    files = [images / CLASSES[index % 2] / f"{index:04d}.png" for index in range(count)]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=list(CLASSES)),
                                  "caption": datasets.Value("string")})
    table = datasets.Dataset.from_dict({"image": [{"bytes": file.read_bytes(), "path": file.name} for file in files],
                                        "label": [index % 2 for index in range(count)],
                                        "caption": [f"a {CLASSES[index % 2]} number {index}" for index in range(count)]},
                                       features=features)
    datasets.DatasetDict({"train": table.select(range(count - 4)), "test": table.select(range(count - 4, count))}) \
        .save_to_disk(str(root / "hf-saved"))
    (root / "hf-parquet").mkdir()
    table.to_parquet(str(root / "hf-parquet" / "train.parquet"))


def cached_shards() -> MadeShards:
    """The shards, made once per machine and kept (img2dataset takes tens of seconds to start): under
    $EMBEDKIT_TEST_CACHE (else ~/.cache/embedkit-tests), in a folder named by this file's hash, so a change to
    how they are made makes them again. Tests copy what they damage."""
    import hashlib
    import shutil
    import tempfile

    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("EMBEDKIT_TEST_CACHE") or Path.home() / ".cache" / "embedkit-tests")
    root = cache / f"shards-{digest}"
    if not (root / "done").exists():
        cache.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(dir=cache, prefix="building-"))
        make_shards(building)
        (building / "done").touch()
        try:
            building.rename(root)
        except OSError:  # another session made them first
            shutil.rmtree(building, ignore_errors=True)
    return MadeShards(root / "images", root / "webdataset", root / "parquet", root / "hf-saved",
                      root / "hf-parquet", IMAGES)
