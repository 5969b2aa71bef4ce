"""Inputs the throughput benchmarks share: Fashion-MNIST's test arrays (generated arrays of the same shape
when Debian's dataset-fashion-mnist is absent, and said so), and a folder of 12 MP JPEGs
(photo_folder_throughput.py makes it once)."""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from embedkit.datasets import Dataset, get_dataset
from embedkit.errors import EmbedkitError

PHOTOS = Path(tempfile.gettempdir()) / "embedkit-photos-12mp"
"""Where photo_folder_throughput.py keeps its 12 MP JPEGs: made once, shared by the benchmarks."""


def fashion_mnist(generated: bool = False, count: int = 10_000) -> tuple[Dataset, str]:
    """Fashion-MNIST (split `test`), or `count` generated 28 x 28 arrays in its files' format; and a line that
    says which."""
    if not generated:
        try:
            return get_dataset("fashion-mnist", download=False), "Fashion-MNIST test arrays"
        except EmbedkitError:
            pass
    folder = Path(tempfile.gettempdir()) / f"embedkit-generated-arrays-{count}"
    make_idx(folder / "fashion-mnist", count)
    os.environ["EMBEDKIT_SYSTEM_DATA"] = ""  # these, not a system copy, also where a stage opens it by name
    os.environ["EMBEDKIT_DATA"] = str(folder)
    return (get_dataset("fashion-mnist", data_dir=folder, download=False),
            f"generated 28 x 28 arrays ({count}; "
            + ("asked for)" if generated else "Debian's dataset-fashion-mnist is not installed)"))


def make_idx(folder: Path, count: int) -> None:
    """Fashion-MNIST's four IDX files with `count` images a split: noise over a class's mean, labels 0-9."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    labels = (np.arange(count) % 10).astype(np.uint8)
    means = rng.integers(0, 200, (10, 28, 28))
    images = np.clip(means[labels] + rng.integers(0, 56, (count, 28, 28)), 0, 255).astype(np.uint8)
    for prefix in ("train", "t10k"):
        for name, array in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
            path = folder / name
            if not path.is_file():
                header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
                path.write_bytes(header + array.tobytes())


def photos(count: int, folder: Path | None = None) -> tuple[str, str]:
    """The dataset name of a folder of 12 MP JPEGs, at least `count` (made if need be: a dataset with more is cut
    with `limit=`), and a line that says what it is."""
    from photo_folder_throughput import SIZE, photo_folder

    folder = photo_folder(folder or PHOTOS, count)
    return f"folder:{folder}", f"{count} generated {SIZE[0]} x {SIZE[1]} JPEGs"
