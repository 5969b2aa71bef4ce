"""open_clip models as encoders, `clip:ARCH/PRETRAINED`: the family and its pretrained names, registered without
importing open_clip; `clip_model` builds one."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from importlib.metadata import version
from typing import TYPE_CHECKING

from embedkit.encoders.builtin.clip_pretrained import OPEN_CLIP_VERSION, PRETRAINED
from embedkit.hookspecs import hookimpl
from embedkit.records import VectorRecord

if TYPE_CHECKING:
    import torch

    from embedkit.encoders.builtin.clip_model import OpenClipEncoder

log = logging.getLogger(__name__)

EXAMPLE = "clip:ViT-S-32-alt"
"""A small architecture: what the tests build with random weights."""


def open_clip_version() -> str:
    return version("open_clip_torch")


def pretrained_names() -> list[tuple[str, str]]:
    """(architecture, tag) of every pretrained model the installed open_clip offers, in its order."""
    if open_clip_version() == OPEN_CLIP_VERSION:
        return [(arch, tag) for arch, tags in PRETRAINED.items() for tag in tags]
    log.debug("open_clip %s is installed, the written-out names are of %s: asking open_clip",
              open_clip_version(), OPEN_CLIP_VERSION)
    import open_clip

    return list(open_clip.list_pretrained())


def create_encoder(
    argument: str | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    image_size: int | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
) -> OpenClipEncoder:
    """`clip:ARCH/TAG`: TAG's pretrained weights (downloaded and cached by open_clip); `clip:ARCH.random`
    (weights="random") for random weights; `weights=PATH` for a local checkpoint, named
    `clip:ARCH/TAG/ckpt-<sha256[:8]>` (or `clip:ARCH/ckpt-...` without a tag): the tag's config (QuickGELU,
    mean, std, resize) is what the checkpoint is loaded into."""
    from embedkit.encoders.builtin.clip_model import build_encoder

    return build_encoder(argument, weights=weights, image_size=image_size, device=device, precision=precision)


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    known = pretrained_names()
    register(
        "clip:",
        create_encoder,
        aliases=tuple(f"clip:{arch}/{tag}" for arch, tag in known),
        record=VectorRecord("clip:", 0, "image+text", weights="ARCH/TAG", source=f"open_clip {open_clip_version()}"),
        examples=(EXAMPLE,),
        description=f"open_clip {open_clip_version()}: clip:ARCH/TAG, {len(known)} pretrained "
                    f"(`embedkit encoders 'clip:ViT-B-32*' --json` lists them as aliases)",
    )
