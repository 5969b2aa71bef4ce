"""The encoder interface: one object that turns images and/or text into unit vectors."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from embedkit.errors import InvalidOptionError, TextNotSupportedError
from embedkit.images import ImageInput, load_image
from embedkit.encoders.weights import file_sha256

Modality = Literal["image", "text", "image+text"]
Precision = Literal["fp32", "fp16", "bf16"]

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


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise InvalidOptionError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    return precision


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
    weights_file: Path | None = None
    """The file the weights were read from, when there is one: its sha256 is provenance."""

    def __init__(self, device: str | torch.device = "auto", precision: str = "fp32"):
        self.device = resolve_device(device)
        self.precision = check_precision(precision)

    # ---- what a subclass implements -------------------------------------------------------
    def preprocess(self, image: Image.Image) -> torch.Tensor:
        raise TextNotSupportedError(f"encoder {self.name} does not embed images")

    def forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        raise TextNotSupportedError(f"encoder {self.name} does not embed images")

    def forward_texts(self, texts: list[str]) -> torch.Tensor:
        raise TextNotSupportedError(
            f"encoder {self.name} embeds images only; use a text encoder (clip:..., st:...) for text"
        )

    def describe(self) -> dict[str, Any]:
        """What determines the vectors: recorded as provenance next to them."""
        return {"name": self.name, "dim": self.dim, "modality": self.modality, "precision": self.precision}

    # ---- what every encoder gets --------------------------------------------------------
    @functools.cached_property
    def weights_sha256(self) -> str | None:
        return None if self.weights_file is None else file_sha256(self.weights_file)

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
            raise TextNotSupportedError(f"encoder {self.name} embeds text only; pass text, not images")
        parts = [
            self.embed_pixels(torch.stack([self.preprocess(load_image(image)) for image in batch]))
            for batch in batched(images, batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def encode_texts(self, texts: Iterable[str], batch_size: int = 32) -> np.ndarray:
        if not self.embeds_text:
            self.forward_texts([])  # raises the modality error
        parts = []
        for batch in batched(texts, batch_size):
            with torch.inference_mode(), self.autocast():
                parts.append(self._finish(self.forward_texts(list(batch))))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def encode(self, inputs: Sequence[ImageInput] | Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed a list of images (PIL images or paths) or of strings (text), by the type of the first."""
        items = list(inputs)
        if items and all(isinstance(item, str) for item in items) and not self.embeds_images:
            return self.encode_texts(items, batch_size)
        if items and isinstance(items[0], str) and self.modality == "image+text":
            return self.encode_texts(items, batch_size)
        return self.encode_images(items, batch_size)

    def _finish(self, vectors: torch.Tensor) -> np.ndarray:
        vectors = torch.nn.functional.normalize(vectors.float(), dim=1)
        return vectors.cpu().numpy().astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} dim={self.dim} {self.modality} {self.device} {self.precision}>"
