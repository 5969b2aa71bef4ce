"""A fine-tuned model as an encoder: its base encoder's network with the fine-tuned weights in it, named and
recorded as the fine-tuned model; imported when one is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from embedkit.encoders import get_encoder
from embedkit.encoders.builtin.finetuned_pretrained import WEIGHTS, read_card
from embedkit.encoders.image_module import ImageModuleEncoder
from embedkit.encoders.weights import file_sha256, fit_state_dict, load_checkpoint
from embedkit.errors import InvalidOptionError, WeightsUnavailableError
from embedkit.records import VectorRecord


def build_encoder(folder: Path, *, weights: Any = None, image_size: int | None = None, layer: str | None = None,
                  device: str | torch.device = "auto", precision: str = "auto") -> ImageModuleEncoder:
    """The encoder `finetuned.create_encoder` describes."""
    card = read_card(folder)
    record = VectorRecord.from_json(card["record"])
    if weights is not None or layer is not None:
        raise InvalidOptionError(f"{record.encoder} is a fine-tuned model with its own weights and layer; leave out "
                                 f"--weights and --layer (train another model for others)")
    if image_size not in (None, record.image_size):
        raise InvalidOptionError(f"{record.encoder} was trained at image size {record.image_size}; leave out "
                                 f"--image-size")
    options = {"image_size": record.image_size} if record.image_size else {}
    base = get_encoder(card["base"]["encoder"], weights="random", device=device, precision=precision,
                       **card["base"].get("options", {}), **options)
    file = folder / WEIGHTS
    if not file.is_file():
        raise WeightsUnavailableError(f"the weights of {record.encoder} are missing from {folder}; train it again")
    fit_state_dict(base.module, load_checkpoint(file), card["base"]["encoder"], f"checkpoint {file}")
    # the card's record preprocesses as trained: with the recipe of the base's pretrained weights
    return ImageModuleEncoder(base.module, record.replace(weights_sha256=file_sha256(file), weights_file=str(file)),
                              weights_file=file, variant=base.variant, device=device, precision=precision)
