"""The pixels encoder: a flatten of the preprocessed image; imported when one is built."""

from __future__ import annotations

import torch

from embedkit.encoders.image_module import ImageModuleEncoder
from embedkit.encoders.names import variant_suffix
from embedkit.records import VectorRecord


def build_encoder(record: VectorRecord, *, device: str | torch.device = "auto") -> ImageModuleEncoder:
    """The encoder of `record` (`pixels.pixels_record`): its preprocessed pixels, flattened, are the vector."""
    return ImageModuleEncoder(torch.nn.Flatten(), record, device=device, precision="fp32",
                              variant=variant_suffix(None, None, record.image_size))
