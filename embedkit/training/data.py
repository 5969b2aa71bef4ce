"""The images a run learns from and is validated on: a seeded choice of a split's samples, augmented as the seeds
augmented them (torchvision.transforms.v2), then preprocessed exactly as the encoder preprocesses for ingest."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from embedkit.datasets import DatasetView
from embedkit.errors import UnlabelledDataError


def augmentation(strength: float) -> Callable[[Image.Image], Image.Image]:
    """Rotation, zoom, shifts, shear and horizontal flips, scaled by `strength` (1: 15°, 10 %, 10 %, 10°)."""
    if strength <= 0:
        return lambda image: image
    return v2.Compose([
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(degrees=15 * strength, translate=(0.1 * strength, 0.1 * strength),
                        scale=(max(0.1, 1 - 0.1 * strength), 1 + 0.1 * strength), shear=10 * strength),
    ])


@dataclass
class LabelledSamples:
    """Which samples of a view are used, and their labels (0 .. classes - 1)."""

    view: DatasetView
    indices: np.ndarray
    labels: np.ndarray

    def content_hash(self) -> str:
        """A SHA-256 of the chosen sample ids and labels, in order: the data's provenance on the model card."""
        digest = hashlib.sha256()
        for index, label in zip(self.indices, self.labels):
            digest.update(f"{self.view[int(index)].id}\t{int(label)}\n".encode())
        return digest.hexdigest()


def choose(view: DatasetView, limit: int | None, seed: int, exclude: np.ndarray | None = None,
           sample: int | None = None) -> LabelledSamples:
    """Every labelled sample of `view` but those at `exclude`: the first `limit` of them, or a seeded random `sample`
    of them (a split's first samples may all be of one class)."""
    labels = view.labels()
    unlabelled = sum(label is None for label in labels)
    if unlabelled:
        raise UnlabelledDataError(f"{unlabelled} samples of {view.dataset_name} split {view.split!r} have no label; "
                                  f"training learns from labels: label them, or pick another split")
    indices = np.setdiff1d(np.arange(len(labels)), exclude) if exclude is not None else np.arange(len(labels))
    if limit is not None and limit < len(indices):
        indices = indices[:limit]
    if sample is not None and sample < len(indices):
        indices = np.sort(np.random.default_rng(seed).choice(indices, sample, replace=False))
    return LabelledSamples(view, indices, np.asarray([labels[i] for i in indices], dtype=np.int64))


class TrainingImages(torch.utils.data.Dataset):
    """(pixels, label) pairs: each image decoded, augmented, then turned into the encoder's input tensor."""

    def __init__(self, samples: LabelledSamples, augment: Callable[[Image.Image], Image.Image],
                 preprocess: Callable[[Image.Image], torch.Tensor]):
        self.samples, self.augment, self.preprocess = samples, augment, preprocess

    def __len__(self) -> int:
        return len(self.samples.indices)

    def __getitem__(self, position: int) -> tuple[torch.Tensor, int]:
        sample = self.samples.view[int(self.samples.indices[position])]
        return self.preprocess(self.augment(sample.image())), int(self.samples.labels[position])
