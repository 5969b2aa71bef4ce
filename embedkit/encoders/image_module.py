"""An image encoder made of a torch module and the preprocessing its record describes."""

from __future__ import annotations

from pathlib import Path

import torch

from embedkit.encoders.base import Encoder
from embedkit.errors import InvalidOptionError
from embedkit.records import Preprocessing, VectorRecord


class ImageModuleEncoder(Encoder):
    """Runs `module` on images preprocessed as `record.preprocessing` says; the module returns (n, dim) features.

    The transform is rebuilt from the record, so what is stored is what runs. `variant` names
    non-default options that change the vectors (`-fc2`, `-32px`); it is appended to the name in
    `vector_name`, so different variants are stored apart.
    """

    modality = "image"

    def __init__(
        self,
        module: torch.nn.Module,
        record: VectorRecord,
        *,
        weights_file: Path | None = None,
        variant: str = "",
        device: str | torch.device = "auto",
        precision: str = "auto",
    ):
        super().__init__(device=device, precision=precision)
        if record.preprocessing is None:
            raise InvalidOptionError(f"encoder {record.encoder} needs a preprocessing record to embed images")
        self.name = record.encoder
        self.dim = record.dim
        self.base_record = record
        self.transform = record.preprocessing.transform()
        self.weights_file = weights_file
        self.variant = variant
        self.module = self.prepare(module)

    def use_preprocessing(self, preprocessing: Preprocessing) -> None:
        """Preprocess as `preprocessing` says from now on: a stored record's, when one checkpoint was
        loaded under weights of another preprocessing."""
        assert self.base_record is not None
        self.base_record = self.base_record.replace(preprocessing=preprocessing)
        self.transform = preprocessing.transform()

    def forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.module(pixels)

    @property
    def vector_name(self) -> str:
        return self.name + self.variant
