"""sentence-transformers models as encoders, `st:MODEL`: text models, and its CLIP models that also embed images.

Registered without importing sentence-transformers (or torch): `sentence_transformer_pretrained` knows where a
model's files are looked for, `sentence_transformer_model` builds one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from embedkit.encoders.builtin.sentence_transformer_pretrained import (PACKAGED, hf_cache_folder, hub_id,
                                                                       packaged_copy, sentence_transformers_version)
from embedkit.hookspecs import hookimpl
from embedkit.records import VectorRecord

if TYPE_CHECKING:
    import torch

    from embedkit.encoders.builtin.sentence_transformer_model import SentenceTransformerEncoder

EXAMPLE = "st:all-MiniLM-L6-v2"


def create_encoder(
    argument: str | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
) -> SentenceTransformerEncoder:
    """`st:MODEL`: a hub id (`all-MiniLM-L6-v2` means `sentence-transformers/all-MiniLM-L6-v2`) or a local
    folder. `weights=PATH` loads another folder of the same model (a fine-tuned copy, or a weights file in
    it); `st:MODEL.random` (weights="random") keeps the architecture with random weights."""
    from embedkit.encoders.builtin.sentence_transformer_model import build_encoder

    return build_encoder(argument, weights=weights, device=device, precision=precision)


def packaged_available(repo: str) -> Callable[[], bool]:
    return lambda: packaged_copy(repo) is not None or hf_cache_folder(repo).is_dir()


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    register(
        "st:",
        create_encoder,
        aliases=tuple(f"st:{repo.split('/', 1)[1]}" for repo in PACKAGED),
        record=VectorRecord("st:", 0, "text", weights="MODEL",
                            source=f"sentence-transformers {sentence_transformers_version()}"),
        examples=(EXAMPLE,),
        weights_available=packaged_available(hub_id("all-MiniLM-L6-v2")),
        description="sentence-transformers: st:MODEL (a hub id or a folder); text models, and CLIP models "
                    "that also embed images",
    )
