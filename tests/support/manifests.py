"""Small, fast encoders that count their forward passes, and a labelled manifest of coloured images."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from embedkit import Encoder

COLOURS = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200)}
CAPTIONS = {"red": "a red square", "green": "a green field", "blue": "a blue sky"}


class CountingEncoder(Encoder):
    """Mean and spread of each colour channel (6-d), or a `side` x `side` grey thumbnail; counts images seen."""

    def __init__(self, kind: str = "colour", side: int = 4, name: str | None = None):
        super().__init__(device="cpu")
        self.kind, self.side = kind, side
        self.name = name or ("colour.v1" if kind == "colour" else "thumb.v1")
        self.dim = 6 if kind == "colour" else side * side
        self.images_seen = 0

    def preprocess(self, image):
        pixels = np.asarray(image.convert("RGB").resize((16, 16)), dtype=np.float32) / 255
        return torch.from_numpy(pixels).permute(2, 0, 1)

    def forward_images(self, pixels):
        self.images_seen += len(pixels)
        if self.kind == "colour":
            return torch.cat([pixels.mean((2, 3)), pixels.std((2, 3)) + 0.05], dim=1)
        grey = pixels.mean(1, keepdim=True)
        return torch.nn.functional.adaptive_avg_pool2d(grey, self.side).flatten(1) + 0.05


def make_manifest(root: Path, per_class: int = 6, labelled: bool = True, seed: int = 0) -> Path:
    """`per_class` train and `per_class` test images of each colour, with a caption column."""
    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for split in ("train", "test"):
        for label, rgb in COLOURS.items():
            for index in range(per_class):
                pixels = np.clip(np.array(rgb) + rng.normal(0, 45, (24, 24, 3)), 0, 255).astype(np.uint8)
                pixels[: rng.integers(4, 12)] = rng.integers(0, 255, 3)  # a stripe of another colour
                path = f"img/{split}-{label}-{index}.png"
                Image.fromarray(pixels).save(root / path)
                rows.append({"path": path, "label": label if labelled else "", "split": split,
                             "caption": f"{CAPTIONS[label]} number {index}"})
    manifest = root / "list.csv"
    with open(manifest, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["path", "label", "split", "caption"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def ingest_colours(root: Path) -> tuple[Path, CountingEncoder]:
    """36 coloured images (red, green, blue; train and test) stored under `root`/store in collection `shapes`
    with the 6-d colour encoder; the store and the encoder."""
    from embedkit.ingestion import ingest

    manifest = make_manifest(root / "data", per_class=6)
    encoder = CountingEncoder("colour")
    ingest(f"manifest:{manifest}", encoder, store=root / "store", collection="shapes", workers=0)
    return root / "store", encoder
