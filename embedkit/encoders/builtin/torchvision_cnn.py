"""The torchvision CNNs as encoders, `resnet50.imagenet1k_v2` and the like: one per backbone's weights, registered
from the tables of `torchvision_cnn_pretrained` without importing torch; `torchvision_cnn_model` builds one."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from embedkit.encoders.builtin.torchvision_cnn_pretrained import (BACKBONES, Backbone, PretrainedWeights,
                                                                  backbone_record)
from embedkit.encoders.weights import hub_checkpoint_path
from embedkit.hookspecs import hookimpl

if TYPE_CHECKING:
    import torch

    from embedkit.encoders.image_module import ImageModuleEncoder


def create_encoder(
    backbone: Backbone,
    pretrained: PretrainedWeights,
    *,
    weights: str | os.PathLike[str] | None = None,
    layer: str | None = None,
    image_size: int | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
) -> ImageModuleEncoder:
    from embedkit.encoders.builtin.torchvision_cnn_model import build_encoder

    return build_encoder(backbone, pretrained, weights=weights, layer=layer, image_size=image_size, device=device,
                         precision=precision)


def cached(url: str) -> Callable[[], bool]:
    return lambda: hub_checkpoint_path(url).exists()


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    for backbone in BACKBONES:
        for pretrained in backbone.weights:
            default = pretrained.tag == backbone.default
            register(
                f"{backbone.arch}.{pretrained.tag}",
                functools.partial(create_encoder, backbone, pretrained),
                aliases=(backbone.arch, *backbone.aliases) if default else (),
                record=backbone_record(backbone, pretrained, pretrained.tag, next(iter(backbone.layers)), None),
                weights_available=cached(pretrained.url),
                layers=dict(backbone.layers),
                description=f"torchvision {backbone.arch}, {pretrained.tag.upper()} ImageNet weights",
            )
