"""The encoder interface: one object that turns images and/or text into unit vectors."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from embedkit.errors import ImagesNotSupportedError, InvalidOptionError, TextNotSupportedError
from embedkit.images import ImageInput, ReadOptions, load_image
from embedkit.encoders.precision import PrecisionChoice, choose_precision
from embedkit.encoders.weights import file_sha256
from embedkit.records import VectorRecord

Modality = Literal["image", "text", "image+text"]

PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """`auto` picks the first CUDA GPU when there is one, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InvalidOptionError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidOptionError(f"device {device!r} asked for, but no CUDA GPU is available; use --device cpu")
    if resolved.type not in ("cpu", "cuda"):
        raise InvalidOptionError(f"unsupported device {device!r}; use auto, cpu, cuda or cuda:N")
    return resolved


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    if size < 1:
        raise InvalidOptionError(f"batch size must be at least 1, got {size}")
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Encoder:
    """Turns images and/or text into float32, L2-normalised numpy arrays of shape (n, dim).

    A subclass sets `name`, `dim` and `modality`, and implements what its modality needs:
    `preprocess` (PIL image -> CHW tensor; it runs in DataLoader workers, so keep it picklable)
    and `forward_images` (a batch of preprocessed tensors -> (n, dim) tensor) for images, and
    `forward_texts` (list of strings -> (n, dim) tensor) for text. Device placement, precision,
    batching and normalisation are done here.
    """

    name: str = "unnamed"
    dim: int = 0
    modality: Modality = "image"
    precision_choice: PrecisionChoice | None = None
    """The precision computed in, what was asked for and why (`auto` picks by the device)."""
    weights_file: Path | None = None
    """The file the weights were read from, when there is one: its sha256 is provenance."""
    transform: Callable[[Image.Image], torch.Tensor] | None = None
    """What `preprocess` runs, for an encoder whose preprocessing is one picklable callable."""
    base_record: VectorRecord | None = None
    """What made the vectors, as a subclass knows it (see `record`); a minimal one when left out."""

    def __init__(self, device: str | torch.device = "auto", precision: str = "auto"):
        self.device = resolve_device(device)
        self.precision_choice = choose_precision(precision, self.device)
        self.precision = self.precision_choice.precision

    # ---- what a subclass implements -------------------------------------------------------
    def preprocess(self, image: Image.Image) -> torch.Tensor:
        if self.embeds_images and self.transform is not None:
            return self.transform(image)
        raise ImagesNotSupportedError(f"encoder {self.name} does not embed images")

    def forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        raise ImagesNotSupportedError(f"encoder {self.name} does not embed images")

    def forward_texts(self, texts: list[str]) -> torch.Tensor:
        raise TextNotSupportedError(
            f"encoder {self.name} embeds images only; use a text encoder (clip:..., st:...) for text"
        )

    # ---- what every encoder gets --------------------------------------------------------
    @functools.cached_property
    def weights_sha256(self) -> str | None:
        return None if self.weights_file is None else file_sha256(self.weights_file)

    @property
    def record(self) -> VectorRecord:
        """What makes this encoder's vectors: `base_record` with the precision and the weights' hash filled in."""
        base = self.base_record or VectorRecord(self.name, self.dim, self.modality)
        return base.replace(
            precision=self.precision,
            weights_sha256=base.weights_sha256 or self.weights_sha256,
            weights_file=base.weights_file or (None if self.weights_file is None else str(self.weights_file)),
        )

    @property
    def input_size(self) -> int | None:
        """The side images are first resized to: a decoder need not produce more (a JPEG's reduced decoding)."""
        preprocessing = self.record.preprocessing
        return None if preprocessing is None else max(preprocessing.resize, preprocessing.crop)

    @property
    def vector_name(self) -> str:
        """The name its vectors are stored under: the encoder's name and any non-default variant."""
        return self.name

    @property
    def embeds_images(self) -> bool:
        return self.modality in ("image", "image+text")

    @property
    def embeds_text(self) -> bool:
        return self.modality in ("text", "image+text")

    def prepare(self, module: torch.nn.Module) -> torch.nn.Module:
        """Put a torch module on this encoder's device, in eval mode, without gradients."""
        module = module.eval().requires_grad_(False).to(self.device)
        if self.embeds_images:
            module = module.to(memory_format=torch.channels_last)
        return module

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=PRECISIONS[self.precision])

    def embed_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        """Embed a batch of tensors made by `preprocess` (stacked to NCHW)."""
        non_blocking = self.device.type == "cuda" and pixels.is_pinned()
        pixels = pixels.to(self.device, non_blocking=non_blocking)
        if pixels.dim() == 4:
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), self.autocast():
            vectors = self.forward_images(pixels)
        return self._finish(vectors)

    def encode_images(self, images: Iterable[ImageInput], batch_size: int = 32) -> np.ndarray:
        """Embed PIL images or image files; a file that cannot be read raises ImageLoadError."""
        if not self.embeds_images:
            raise ImagesNotSupportedError(f"encoder {self.name} embeds text only; pass text, not images")
        _refuse_one_item(images, "images")
        reading = ReadOptions.from_environment(draft_size=self.input_size)  # as ingest reads files: the same vectors
        parts = [
            self.embed_pixels(torch.stack([self.preprocess(load_image(image, reading)) for image in batch]))
            for batch in batched(images, batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def encode_texts(self, texts: Iterable[str], batch_size: int = 32) -> np.ndarray:
        if not self.embeds_text:
            raise TextNotSupportedError(
                f"encoder {self.name} embeds images only; use a text encoder (clip:..., st:...) for text"
            )
        _refuse_one_item(texts, "texts")
        texts = list(texts)
        other = next((text for text in texts if not isinstance(text, str)), None)
        if other is not None:
            raise InvalidOptionError(f"texts must be strings, not {type(other).__name__}; embed images with "
                                     f"modality='image' or encode_images")
        return self.embed_texts(texts, batch_size)

    def embed_texts(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed checked texts in batches of `batch_size`, in their order."""
        parts = []
        for batch in batched(texts, batch_size):
            with torch.inference_mode(), self.autocast():
                parts.append(self._finish(self.forward_texts(list(batch))))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def encode(
        self,
        inputs: Sequence[ImageInput] | Sequence[str],
        *,
        modality: Literal["image", "text"] | None = None,
        batch_size: int = 32,
    ) -> np.ndarray:
        """Embed images (PIL images, or paths of image files) or texts, as `modality` says.

        The modality is never guessed from the inputs: a string is a file for images and a text for texts.
        It may be left out when the encoder embeds only one modality.
        """
        if modality is None:
            if self.modality == "image+text":
                raise InvalidOptionError(
                    f"encoder {self.name} embeds images and text: pass modality='image' (files or PIL images) "
                    f"or modality='text', or call encode_images / encode_texts"
                )
            modality = "text" if self.modality == "text" else "image"
        if modality == "image":
            return self.encode_images(inputs, batch_size)
        if modality == "text":
            return self.encode_texts(inputs, batch_size)  # type: ignore[arg-type]
        raise InvalidOptionError(f"unknown modality {modality!r}; use 'image' or 'text'")

    def _finish(self, vectors: torch.Tensor) -> np.ndarray:
        vectors = torch.nn.functional.normalize(vectors.float(), dim=1)
        return vectors.cpu().numpy().astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} dim={self.dim} {self.modality} {self.device} {self.precision}>"


def _refuse_one_item(inputs: object, what: str) -> None:
    """A single string, path or image where a list is expected would be taken apart or misread."""
    if isinstance(inputs, (str, bytes, os.PathLike, Image.Image)):
        raise InvalidOptionError(f"pass the {what} as a list, e.g. [{inputs!r}], not one item")
