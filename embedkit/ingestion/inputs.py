"""A run's samples as an encoder's inputs: each sample's payload, and its image decoded and preprocessed (in
DataLoader workers or Ray tasks), or the reason it could not be."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image

from embedkit.datasets import DatasetView, Sample
from embedkit.errors import ImageLoadError, PreprocessingError, first_line
from embedkit.images import ReadOptions
from embedkit.ingestion.freshness import CONTENT_FIELD, content_stamp
from embedkit.ingestion.run import Failure


def sample_payload(view: DatasetView, sample: Sample) -> dict[str, Any]:
    """What a point's payload holds (docs/store.md), with its sample id, which the store keeps apart."""
    return {**dict(sample.payload), "sample_id": sample.id, "dataset": view.dataset_name, "split": sample.split,
            "label": sample.label, "label_name": sample.label_name, "source": sample.source,
            CONTENT_FIELD: content_stamp(sample.source)}


class EncoderInputs(torch.utils.data.Dataset):
    """The samples to encode; decoded and preprocessed in DataLoader workers."""

    def __init__(self, view: DatasetView, indices: Sequence[int], preprocess: Callable[[Any], torch.Tensor],
                 reading: ReadOptions):
        self.view = view
        self.indices = list(indices)
        self.preprocess = preprocess
        self.reading = reading

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[dict[str, Any], torch.Tensor | None, str | None]:
        sample = self.view[self.indices[position]]
        return encoder_input(self.view, sample, self.preprocess, self.reading)


def encoder_input(view: DatasetView, sample: Sample, preprocess: Callable[[Any], torch.Tensor],
                  reading: ReadOptions) -> tuple[dict[str, Any], torch.Tensor | None, str | None]:
    """A sample's payload, and its image read and preprocessed, or the reason it could not be."""
    record = sample_payload(view, sample)
    try:
        image = sample.image(reading)
    except ImageLoadError as error:
        return record, None, str(error)
    except Exception as error:  # a decoding bug on one file must not end a long ingest
        return record, None, f"{type(error).__name__}: {error}"
    try:
        return record, preprocess(image), None
    except Exception as error:  # options every image would meet are refused before (check_preprocessing)
        return record, None, f"the encoder's preprocessing failed ({type(error).__name__}: {first_line(error)})"


def check_preprocessing(preprocess: Callable[[Any], torch.Tensor]) -> None:
    """Refuse, before any work, encoder options that no image gets through (a huge --image-size): a failure
    on one odd image only skips that image."""
    try:
        preprocess(Image.new("RGB", (64, 48), (128, 128, 128)))
    except Exception as error:
        raise PreprocessingError(f"the encoder's preprocessing fails on any image ({type(error).__name__}: "
                                 f"{first_line(error)}); check the encoder's options (--image-size)") from error


def collate(
    items: list[tuple[dict[str, Any], torch.Tensor | None, str | None]],
) -> tuple[list[dict[str, Any]], torch.Tensor | None, list[Failure]]:
    good = [(record, tensor) for record, tensor, error in items if error is None]
    bad = [Failure(record["sample_id"], record["source"], error) for record, _, error in items if error is not None]
    pixels = torch.stack([tensor for _, tensor in good]) if good else None
    return [record for record, _ in good], pixels, bad
