"""Samples stored as rows of a uint8 array in a file (IDX, a .npy cache), read through a memory map."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from embedkit.datasets.base import Sample
from embedkit.errors import ImageLoadError


@dataclass
class PixelArray:
    """`shape` = (n, height, width) or (n, height, width, 3) uint8 at `offset` bytes into `path`.

    The memory map is opened on first use in each process and left out of pickles, so a
    DataLoader worker receives a path, not the pixels.
    """

    path: str
    offset: int
    shape: tuple[int, ...]
    _array: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_npy(cls, path: str | Path) -> PixelArray:
        array = np.load(path, mmap_mode="r")
        return cls(str(path), int(array.offset), tuple(array.shape), array)

    def __len__(self) -> int:
        return self.shape[0]

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "offset": self.offset, "shape": self.shape, "_array": None}

    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.memmap(self.path, dtype=np.uint8, mode="r", offset=self.offset, shape=self.shape)
        return self._array

    def image(self, index: int) -> Image.Image:
        try:
            pixels = np.array(self.array()[index])
        except (OSError, ValueError) as error:
            raise ImageLoadError(f"cannot read image {index} of {self.path}: {error}") from error
        return Image.fromarray(pixels).convert("RGB")


@dataclass
class ArrayPart:
    """One split whose images are rows of a PixelArray and whose labels are a small in-memory array.

    `members` maps the first row of each original file to its path, so a sample's source names
    the file it came from (`.../data_batch_3::417`). `payload` columns are arrays of the same length.
    """

    dataset_name: str
    split: str
    pixels: PixelArray
    label_array: np.ndarray
    classes: Sequence[str]
    members: Sequence[tuple[int, str]]
    payload: Mapping[str, np.ndarray] = field(default_factory=dict)
    payload_names: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.label_array)

    def labels(self) -> Sequence[int]:
        return self.label_array

    def source(self, index: int) -> str:
        start, member = max((m for m in self.members if m[0] <= index), key=lambda m: m[0])
        return f"{member}::{index - start}"

    def sample(self, index: int) -> Sample:
        label = int(self.label_array[index])
        payload: dict[str, Any] = {}
        for key, column in self.payload.items():
            value = int(column[index])
            payload[key] = value
            if key in self.payload_names:
                payload[f"{key}_name"] = self.payload_names[key][value]
        return Sample(
            id=f"{self.dataset_name}/{self.split}/{index:05d}",
            split=self.split,
            label=label,
            label_name=self.classes[label],
            source=self.source(index),
            payload=payload,
            reader=partial(self.pixels.image, index),
        )
