"""A small labelled dataset with planted near-duplicates, for the duplicates tests."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

LABELS = ("cat", "dog", "fox")


def blocks(rng: np.random.Generator) -> Image.Image:
    """An 8 x 8 pattern of dark and light 3 px blocks: two of them are far apart (cosine about 0.6) for an
    8 x 8 thumbnail encoder."""
    pattern = rng.choice([20, 235], size=(8, 8, 1)) + rng.integers(-10, 10, size=(8, 8, 3))
    return Image.fromarray(np.kron(pattern, np.ones((3, 3, 1))).clip(0, 255).astype(np.uint8))


def make_dataset(root: Path, seed: int = 0) -> Path:
    """Distinct images of three labels in train, test and val, and planted near-duplicates:
    an exact copy of a train image in test (a leak), a brightened copy within train, a copy under another
    label (a conflict), a chain of three small edits within test, and a copy of a train image in val."""
    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True)
    rows = []

    def add(name: str, image: Image.Image, label: str, split: str) -> None:
        image.save(root / "img" / f"{name}.png")
        rows.append({"path": f"img/{name}.png", "label": label, "split": split})

    for split, count in (("train", 8), ("test", 4), ("val", 2)):
        for label in LABELS:
            for i in range(count):
                add(f"{split}-{label}-{i}", blocks(rng), label, split)
    shutil.copy(root / "img" / "train-cat-0.png", root / "img" / "test-copy-of-train-cat-0.png")
    rows.append({"path": "img/test-copy-of-train-cat-0.png", "label": "cat", "split": "test"})
    bright = np.asarray(Image.open(root / "img" / "train-dog-1.png")).astype(int) + 6
    add("train-dog-1-bright", Image.fromarray(bright.clip(0, 255).astype(np.uint8)), "dog", "train")
    shutil.copy(root / "img" / "train-fox-2.png", root / "img" / "train-fox-2-as-cat.png")
    rows.append({"path": "img/train-fox-2-as-cat.png", "label": "cat", "split": "train"})
    chain = np.asarray(Image.open(root / "img" / "test-dog-0.png")).copy()
    for step, (row, column) in enumerate(((0, 0), (12, 12)), start=1):
        chain[row : row + 3, column : column + 3] = 255 - chain[row : row + 3, column : column + 3]
        add(f"test-dog-0-edit{step}", Image.fromarray(chain), "dog", "test")
    shutil.copy(root / "img" / "train-cat-3.png", root / "img" / "val-copy-of-train-cat-3.png")
    rows.append({"path": "img/val-copy-of-train-cat-3.png", "label": "cat", "split": "val"})
    manifest = root / "list.csv"
    with open(manifest, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["path", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest
