"""Decoding a view's images in DataLoader workers, skipping (and reporting) the unreadable ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.utils.data
from PIL import Image

from embedkit.datasets.base import DatasetView, Sample
from embedkit.images import ReadOptions
from embedkit.errors import ImageLoadError


@dataclass(frozen=True)
class Skipped:
    """An image that could not be read: its sample id, where it is, and why."""

    id: str
    source: str
    reason: str


@dataclass
class DecodeReport:
    """How many images were read, and which were skipped."""

    read: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def summary(self) -> str:
        total = self.read + len(self.skipped)
        text = f"read {self.read:,} of {total:,} images"
        if self.skipped:
            text += f"; skipped {len(self.skipped):,} unreadable"
        return text

    def details(self) -> list[str]:
        """One line per skipped image; each names the sample id and its source."""
        return [item.reason for item in self.skipped]


@dataclass
class Decoded:
    """One sample with its transformed image, or the reason it could not be read."""

    sample: Sample
    value: Any = None
    error: str | None = None


@dataclass
class DecodedBatch:
    samples: list[Sample]
    values: Any
    skipped: list[Skipped]


class DecodingView(torch.utils.data.Dataset):
    """Wraps a view so that workers decode: item i is `Decoded(sample, transform(sample.image()))`."""

    def __init__(self, view: DatasetView | Sequence[Sample],
                 transform: Callable[[Image.Image], Any] | None = None, reading: ReadOptions | None = None):
        self.view = view
        self.transform = transform
        self.reading = reading

    def __len__(self) -> int:
        return len(self.view)

    def __getitem__(self, index: int) -> Decoded:
        sample = self.view[index]
        try:
            image = sample.image(self.reading)
            return Decoded(sample, self.transform(image) if self.transform is not None else image)
        except ImageLoadError as error:
            return Decoded(sample, error=str(error))


def collate(items: list[Decoded]) -> DecodedBatch:
    """The readable items' samples and values (stacked when they are tensors), and the skipped ones."""
    good = [item for item in items if item.error is None]
    values: Any = [item.value for item in good]
    if values and all(isinstance(value, torch.Tensor) for value in values):
        values = torch.stack(values)
    skipped = [Skipped(item.sample.id, item.sample.source, item.error or "") for item in items if item.error]
    return DecodedBatch([item.sample for item in good], values, skipped)


def decode(
    view: DatasetView | Sequence[Sample],
    transform: Callable[[Image.Image], Any] | None = None,
    *,
    batch_size: int = 32,
    num_workers: int = 0,
    strict: bool = False,
    report: DecodeReport | None = None,
    reading: ReadOptions | None = None,
) -> Iterator[DecodedBatch]:
    """Batches of decoded (and transformed) images of `view`, read by `num_workers` processes.

    An unreadable image is left out of its batch and added to `report`; with `strict` the first
    one raises ImageLoadError instead.
    """
    report = report if report is not None else DecodeReport()
    loader = torch.utils.data.DataLoader(
        DecodingView(view, transform, reading), batch_size=batch_size, num_workers=num_workers, collate_fn=collate,
        persistent_workers=False,
    )
    for batch in loader:
        if strict and batch.skipped:
            raise ImageLoadError(batch.skipped[0].reason)
        report.read += len(batch.samples)
        report.skipped.extend(batch.skipped)
        yield batch
