"""open_clip models as encoders, `clip:ARCH/PRETRAINED`: the image and the text tower behind one interface."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from embedkit.encoders.base import Encoder
from embedkit.errors import InvalidOptionError, UnknownNameError, WeightsMismatchError, WeightsUnavailableError
from embedkit.hookspecs import hookimpl
from embedkit.encoders.weights import RANDOM, file_sha256

log = logging.getLogger(__name__)


def _open_clip():
    """open_clip, imported on first use: commands that need no CLIP model do not pay for it."""
    import open_clip

    return open_clip

EXAMPLE = "clip:ViT-S-32-alt"
"""A small architecture: what the tests build with random weights."""


def parse_name(argument: str | None) -> tuple[str, str | None]:
    """`ViT-B-32/openai` -> ("ViT-B-32", "openai"); `ViT-B-32` -> ("ViT-B-32", None)."""
    arch, _, tag = (argument or "").partition("/")
    if not arch:
        raise InvalidOptionError("clip: needs an architecture, e.g. clip:ViT-B-32/openai (`embedkit encoders 'clip*'`)")
    if arch not in _open_clip().list_models():
        known = [f"clip:{a}/{t}" for a, t in _open_clip().list_pretrained()]
        known += [f"clip:{m}" for m in _open_clip().list_models()]
        close = difflib.get_close_matches(f"clip:{argument}", known, 3, 0.5)
        raise UnknownNameError("encoder", f"clip:{argument}", close)
    return arch, tag or None


def pretrained_tags(arch: str) -> list[str]:
    return [tag for a, tag in _open_clip().list_pretrained() if a == arch]


def cached_file(cfg: dict[str, Any]) -> tuple[Path | None, str]:
    """The cached weights of a pretrained config when present, and where they are expected."""
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
                return Path(found), found
        folder = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
        return None, f"{folder} (file {filenames[0]}, from the Hugging Face hub repo {repo})"
    url = cfg.get("url", "")
    path = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
    return (path if path.is_file() else None), str(path)


def fetch_pretrained(arch: str, tag: str) -> Path:
    """The weights file of a pretrained tag: from the cache, else downloaded by open_clip into it."""
    cfg = _open_clip().pretrained.get_pretrained_cfg(arch, tag)
    if not cfg:
        tags = pretrained_tags(arch)
        if tags:
            close = difflib.get_close_matches(tag, tags, 3, 0.4)
            raise UnknownNameError("encoder", f"clip:{arch}/{tag}", [f"clip:{arch}/{t}" for t in close or tags[:3]])
        raise WeightsUnavailableError(
            f"open_clip has no pretrained weights for clip:{arch}; "
            f"pass --weights PATH to load a checkpoint, or --weights none for random weights"
        )
    found, expected = cached_file(cfg)
    if found is not None:
        return found
    try:
        return Path(_open_clip().download_pretrained(cfg))
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise WeightsUnavailableError(
            f"pretrained weights for clip:{arch}/{tag} are not cached and could not be downloaded ({reason}); "
            f"expected in {expected}: put them there, pass --weights PATH to load a checkpoint, "
            f"or --weights none for random weights"
        ) from error


class _DropNoWeightsWarning(logging.Filter):
    """open_clip warns on the root logger when it builds a model without weights; here that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No pretrained weights loaded")


def build_model(arch: str, cfg: dict[str, Any], image_size: int | None) -> tuple[torch.nn.Module, Callable]:
    """The architecture with random weights (seeded: the same on every run) and its eval transform."""
    preprocess = {key: cfg[source] for key, source in (("image_mean", "mean"), ("image_std", "std"),
                                                        ("image_interpolation", "interpolation"),
                                                        ("image_resize_mode", "resize_mode")) if source in cfg}
    quiet = _DropNoWeightsWarning()
    logging.getLogger().addFilter(quiet)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model, _, transform = _open_clip().create_model_and_transforms(
                arch, pretrained=None, pretrained_image=False, pretrained_text=False,
                force_quick_gelu=bool(cfg.get("quick_gelu", False)), force_image_size=image_size, **preprocess,
            )
    finally:
        logging.getLogger().removeFilter(quiet)
    return model, transform


def load_weights(model: torch.nn.Module, file: Path, label: str) -> None:
    try:
        _open_clip().load_checkpoint(model, str(file), strict=True)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsMismatchError(f"weights {file} do not fit {label}: {first[:300]}") from error


class OpenClipEncoder(Encoder):
    """An open_clip model: images through `encode_image`, text through its tokenizer and `encode_text`."""

    modality = "image+text"

    def __init__(
        self,
        arch: str,
        tag: str,
        model: torch.nn.Module,
        transform: Callable[[Image.Image], torch.Tensor],
        *,
        weights_file: Path | None = None,
        image_size: int | None = None,
        device: str | torch.device = "auto",
        precision: str = "fp32",
    ):
        super().__init__(device=device, precision=precision)
        self.arch = arch
        self.tag = tag
        self.name = f"clip:{arch}/{tag}"
        self.dim = int(model.text_projection.shape[1] if isinstance(model.text_projection, torch.Tensor)
                       else _open_clip().get_model_config(arch)["embed_dim"])
        self.transform = transform
        self.weights_file = weights_file
        self.image_size = image_size
        self.tokenizer = _open_clip().get_tokenizer(arch)
        self.model = self.prepare(model)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self.transform(image)

    def forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)

    def forward_texts(self, texts: list[str]) -> torch.Tensor:
        return self.model.encode_text(self.tokenizer(texts).to(self.device))

    @property
    def vector_name(self) -> str:
        return self.name + ("" if self.image_size is None else f"-{self.image_size}px")

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "architecture": self.arch,
            "weights": self.tag,
            "weights_file": str(self.weights_file) if self.weights_file else None,
            "weights_sha256": self.weights_sha256,
            "image_size": self.image_size,
            "preprocessing": repr(self.transform),
            "source": "open_clip " + _open_clip().__version__,
        }


def create_encoder(
    argument: str | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    image_size: int | None = None,
    device: str | torch.device = "auto",
    precision: str = "fp32",
) -> OpenClipEncoder:
    """`clip:ARCH/TAG`: TAG's pretrained weights (downloaded and cached by open_clip); `weights="none"`
    (or the tag `random`) for random weights; `weights=PATH` for a local checkpoint. TAG may be left
    out with random weights or a checkpoint; its preprocessing (mean, std, resize) is used when given."""
    arch, tag = parse_name(argument)
    if tag in (RANDOM, "random"):
        tag, weights = None, weights or RANDOM
    if image_size is not None and image_size < 16:
        raise InvalidOptionError(f"image size {image_size} is too small; use at least 16 pixels")
    cfg = _open_clip().pretrained.get_pretrained_cfg(arch, tag) if tag else {}
    if weights is None or (tag is not None and str(weights) == tag):
        if tag is None:
            tags = pretrained_tags(arch)
            if not tags:
                raise WeightsUnavailableError(
                    f"open_clip has no pretrained weights for clip:{arch}; pass --weights PATH to load a checkpoint, "
                    f"or --weights none for random weights"
                )
            tag = tags[0]
            cfg = _open_clip().pretrained.get_pretrained_cfg(arch, tag)
        file: Path | None = fetch_pretrained(arch, tag)
        name_tag = tag
    elif str(weights).lower() in (RANDOM, "random"):
        file, name_tag = None, "random"
    else:
        file = Path(weights)
        if not file.is_file():
            raise WeightsUnavailableError(
                f"checkpoint file {str(file)!r} does not exist; pass the path of an open_clip checkpoint "
                f"(.pt, .bin or .safetensors)"
            )
        name_tag = f"ckpt-{file_sha256(file)[:8]}"
    model, transform = build_model(arch, cfg, image_size)
    if file is not None:
        load_weights(model, file, f"clip:{arch}")
    return OpenClipEncoder(arch, name_tag, model, transform, weights_file=file, image_size=image_size,
                           device=device, precision=precision)


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    known = _open_clip().list_pretrained()
    register(
        "clip:",
        create_encoder,
        aliases=tuple(f"clip:{arch}/{tag}" for arch, tag in known),
        dim=None,
        modality="image+text",
        weights="ARCH/TAG",
        examples=(EXAMPLE,),
        description=f"open_clip {_open_clip().__version__}: clip:ARCH/TAG, {len(known)} pretrained "
                    f"(`embedkit encoders 'clip:ViT-B-32*' --json` lists them as aliases)",
    )
