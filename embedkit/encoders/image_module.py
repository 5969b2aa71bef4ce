"""An image encoder made of a torch module and the transform its weights were trained with."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from embedkit.encoders.base import Encoder


class ImageModuleEncoder(Encoder):
    """Runs `module` on images preprocessed by `transform`; the module returns (n, dim) features.

    `variant` names non-default options that change the vectors (`-fc2`, `-32px`); it is appended
    to the name in `vector_name`, so different variants are stored apart.
    """

    modality = "image"

    def __init__(
        self,
        name: str,
        dim: int,
        module: torch.nn.Module,
        transform: Callable[[Image.Image], torch.Tensor],
        *,
        weights_file: Path | None = None,
        details: dict[str, Any] | None = None,
        variant: str = "",
        device: str | torch.device = "auto",
        precision: str = "fp32",
    ):
        super().__init__(device=device, precision=precision)
        self.name = name
        self.dim = dim
        self.transform = transform
        self.weights_file = weights_file
        self.details = details or {}
        self.variant = variant
        self.module = self.prepare(module)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self.transform(image)

    def forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.module(pixels)

    @property
    def vector_name(self) -> str:
        return self.name + self.variant

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            **self.details,
            "weights_file": str(self.weights_file) if self.weights_file else None,
            "weights_sha256": self.weights_sha256,
            "preprocessing": repr(self.transform),
        }
