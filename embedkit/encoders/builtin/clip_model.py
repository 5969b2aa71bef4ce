"""An open_clip model as an encoder: the image and the text tower behind one interface; imported when one is built."""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import open_clip
import torch

from embedkit.encoders.image_module import ImageModuleEncoder
from embedkit.errors import (InvalidOptionError, UnknownNameError, WeightsMismatchError, WeightsUnavailableError,
                             first_line)
from embedkit.encoders.names import RANDOM, RANDOM_SUFFIX, split_tag, variant_suffix, weights_option
from embedkit.encoders.network import hugging_face_unreachable, unreachable
from embedkit.encoders.weights import file_sha256
from embedkit.records import Preprocessing, VectorRecord

log = logging.getLogger(__name__)


def parse_name(argument: str | None) -> tuple[str, str | None]:
    """`ViT-B-32/openai` -> ("ViT-B-32", "openai"); `ViT-B-32` -> ("ViT-B-32", None)."""
    arch, tag = split_tag(argument or "")
    if not arch:
        raise InvalidOptionError("clip: needs an architecture, e.g. clip:ViT-B-32/openai (`embedkit encoders 'clip*'`)")
    if arch not in open_clip.list_models():
        known = [f"clip:{a}/{t}" for a, t in open_clip.list_pretrained()]
        known += [f"clip:{m}" for m in open_clip.list_models()]
        close = difflib.get_close_matches(f"clip:{argument}", known, 3, 0.5)
        raise UnknownNameError("encoder", f"clip:{argument}", close)
    return arch, tag or None


def pretrained_tags(arch: str) -> list[str]:
    return [tag for a, tag in open_clip.list_pretrained() if a == arch]


@dataclass(frozen=True)
class CachedWeights:
    """The cached weights file of a pretrained config when it is there; else the folder or file where it is
    expected, and how to fetch it."""

    file: Path | None
    expected: str
    fetch: str
    source: str
    """The address a download comes from."""


def cached_weights(cfg: dict[str, Any]) -> CachedWeights:
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import constants, try_to_load_from_cache

        repo, filename = os.path.split(hub)  # 'org/repo/' names the default file, 'org/repo/file.bin' a file
        filenames = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        if filename.endswith(".bin"):
            filenames.insert(0, filename.removesuffix(".bin") + ".safetensors")
        for name in filenames:
            found = try_to_load_from_cache(repo, name)
            if isinstance(found, str):
                return CachedWeights(Path(found), found, "", constants.ENDPOINT)
        folder = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
        fetch = f"`hf download {repo} {filename}`" if filename else \
            f"`hf download {repo} {filenames[0]}` (or {filenames[1]})"
        return CachedWeights(None, str(folder), fetch, constants.ENDPOINT)
    url = cfg.get("url", "")
    path = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
    return CachedWeights(path if path.is_file() else None, str(path), f"a download of {url}", url)


def fetch_pretrained(arch: str, tag: str) -> Path:
    """The weights file of a pretrained tag: from the cache, else downloaded by open_clip into it when the
    network can be reached (a hub client offline would retry for a minute before failing)."""
    cfg = open_clip.pretrained.get_pretrained_cfg(arch, tag)
    if not cfg:
        tags = pretrained_tags(arch)
        if tags:
            close = difflib.get_close_matches(tag, tags, 3, 0.4)
            raise UnknownNameError("encoder", f"clip:{arch}/{tag}", [f"clip:{arch}/{t}" for t in close or tags[:3]])
        raise WeightsUnavailableError(
            f"open_clip has no pretrained weights for clip:{arch}; "
            f"pass --weights PATH to load a checkpoint, or name the encoder NAME.random for random weights"
        )
    cached = cached_weights(cfg)
    if cached.file is not None:
        return cached.file
    blocked = hugging_face_unreachable() if cfg.get("hf_hub") else unreachable(cached.source)
    if blocked:
        raise WeightsUnavailableError(
            f"pretrained weights for clip:{arch}/{tag} are not cached and cannot be downloaded now ({blocked}); "
            f"get them with {cached.fetch} on a machine with network and copy {cached.expected} here, pass "
            f"--weights PATH to load a checkpoint, or name the encoder NAME.random for random weights"
        )
    try:
        return Path(open_clip.download_pretrained(cfg))
    except Exception as error:
        reason = first_line(error)
        raise WeightsUnavailableError(
            f"pretrained weights for clip:{arch}/{tag} are not cached and could not be downloaded ({reason}); "
            f"get them with {cached.fetch} and copy {cached.expected} here, pass --weights PATH to load a "
            f"checkpoint, or name the encoder NAME.random for random weights"
        ) from error


class _DropNoWeightsWarning(logging.Filter):
    """open_clip warns on the root logger when it builds a model without weights; here that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No pretrained weights loaded")


def build_model(arch: str, cfg: dict[str, Any], image_size: int | None) -> tuple[torch.nn.Module, Preprocessing]:
    """The architecture with random weights (seeded: the same on every run) and its eval preprocessing."""
    preprocess = {key: cfg[key] for key in ("mean", "std", "interpolation", "resize_mode") if key in cfg}
    quiet = _DropNoWeightsWarning()
    logging.getLogger().addFilter(quiet)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = open_clip.create_model(
                arch, pretrained=None, pretrained_image=False, pretrained_text=False,
                force_quick_gelu=bool(cfg.get("quick_gelu", False)), force_image_size=image_size,
                force_preprocess_cfg=preprocess or None,
            )
    finally:
        logging.getLogger().removeFilter(quiet)
    config = model.visual.preprocess_cfg
    size = config["size"] if isinstance(config["size"], int) else max(config["size"])
    return model, Preprocessing(size, size, str(config["interpolation"]), tuple(config["mean"]), tuple(config["std"]),
                                str(config.get("resize_mode", "shortest")))


def load_weights(model: torch.nn.Module, file: Path, label: str) -> None:
    try:
        open_clip.load_checkpoint(model, str(file), strict=True)
    except Exception as error:
        first = first_line(error)
        raise WeightsMismatchError(f"weights {file} do not fit {label}: {first[:300]}") from error


class OpenClipEncoder(ImageModuleEncoder):
    """An open_clip model: images through `encode_image`, text through its tokenizer and `encode_text`."""

    modality = "image+text"

    def __init__(self, model: torch.nn.Module, record: VectorRecord, **options: Any):
        assert record.architecture is not None
        super().__init__(model, record, variant=variant_suffix(None, None, record.image_size), **options)
        self.tokenizer = open_clip.get_tokenizer(record.architecture)

    def forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.module.encode_image(pixels)

    def forward_texts(self, texts: list[str]) -> torch.Tensor:
        return self.module.encode_text(self.tokenizer(texts).to(self.device))


def build_encoder(
    argument: str | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    image_size: int | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
) -> OpenClipEncoder:
    """The encoder `clip.create_encoder` describes."""
    arch, tag = parse_name(argument)
    weights = weights_option(weights)
    if image_size is not None and image_size < 16:
        raise InvalidOptionError(f"image size {image_size} is too small; use at least 16 pixels")
    # `clip:ARCH.random` is one encoder whatever tag was named: the architecture's own preprocessing
    cfg = open_clip.pretrained.get_pretrained_cfg(arch, tag) if tag and weights != RANDOM else {}
    if tag and weights not in (None, RANDOM, tag) and not cfg:
        tags = pretrained_tags(arch)
        raise UnknownNameError("encoder", f"clip:{arch}/{tag}", [f"clip:{arch}/{t}" for t in
                                                                 difflib.get_close_matches(tag, tags, 3, 0.4)]
                               or [f"clip:{arch}"])
    if weights is None or (tag is not None and str(weights) == tag):
        if tag is None:
            tags = pretrained_tags(arch)
            if not tags:
                raise WeightsUnavailableError(
                    f"open_clip has no pretrained weights for clip:{arch}; pass --weights PATH to load a checkpoint, "
                    f"or name the encoder NAME.random for random weights"
                )
            tag = tags[0]
            cfg = open_clip.pretrained.get_pretrained_cfg(arch, tag)
        file: Path | None = fetch_pretrained(arch, tag)
        name_tag = tag
    elif weights == RANDOM:
        file, name_tag = None, RANDOM
    else:
        file = Path(weights).expanduser().resolve()
        if not file.is_file():
            raise WeightsUnavailableError(
                f"checkpoint file {str(file)!r} does not exist; pass the path of an open_clip checkpoint "
                f"(.pt, .bin or .safetensors)"
            )
        # a tag's config changes the model (QuickGELU) and its preprocessing: the name keeps it
        name_tag = (f"{tag}/" if tag else "") + f"ckpt-{file_sha256(file)[:8]}"
    model, preprocessing = build_model(arch, cfg, image_size)
    if file is not None:
        load_weights(model, file, f"clip:{arch}")
    dim = int(model.text_projection.shape[1] if isinstance(model.text_projection, torch.Tensor)
              else open_clip.get_model_config(arch)["embed_dim"])
    name = f"clip:{arch}{RANDOM_SUFFIX}" if name_tag == RANDOM else f"clip:{arch}/{name_tag}"
    record = VectorRecord(name, dim, "image+text", architecture=arch, weights=name_tag.rpartition("/")[2],
                          image_size=image_size,
                          preprocessing=preprocessing, source="open_clip " + open_clip.__version__,
                          licence=cfg.get("license"))
    return OpenClipEncoder(model, record, weights_file=file, device=device, precision=precision)
