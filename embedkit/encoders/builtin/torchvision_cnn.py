"""The torchvision CNN backbones: DenseNet-121, ResNet-50, VGG-16 and MobileNetV2, and their ImageNet weights.

What each weights file is, where torch keeps it and how it preprocesses images is written out here, so that
the names are listed without importing torch; a test checks it against torchvision's weights enums. The
network is built by `torchvision_cnn_model` when an encoder is created.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import TYPE_CHECKING

from embedkit.encoders.names import RANDOM
from embedkit.encoders.weights import hub_checkpoint_path
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.records import Preprocessing, VectorRecord

if TYPE_CHECKING:
    import torch

    from embedkit.encoders.image_module import ImageModuleEncoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LICENCE = "torchvision's BSD-3-Clause code; ImageNet-1k terms of use for the pretrained weights"


@dataclass(frozen=True)
class PretrainedWeights:
    """One member of a torchvision weights enum (`ResNet50_Weights.IMAGENET1K_V2`) and its eval transform."""

    tag: str
    """The member's name, lower-cased: `imagenet1k_v2`."""
    url: str
    resize: int
    crop: int = 224
    interpolation: str = "bilinear"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD

    def preprocessing(self, image_size: int | None) -> Preprocessing:
        """The weights' own preprocessing; `image_size` replaces its resize and crop (e.g. 32 for CIFAR)."""
        if image_size is None:
            return Preprocessing(self.resize, self.crop, self.interpolation, self.mean, self.std)
        if image_size < 16:
            raise InvalidOptionError(f"image size {image_size} is too small; use at least 16 pixels")
        return Preprocessing(image_size, image_size, self.interpolation, self.mean, self.std)


@dataclass(frozen=True)
class Backbone:
    arch: str
    head: str
    """Prefix of the classification head's parameters, which the features do not use."""
    layers: dict[str, int]
    """Feature layers and their dimensions; the first is the default."""
    weights: tuple[PretrainedWeights, ...]
    """In the order of torchvision's enum."""
    default: str
    """The tag of the enum's DEFAULT, which the aliases name."""
    aliases: tuple[str, ...] = field(default=())

    @property
    def default_weights(self) -> PretrainedWeights:
        return next(weights for weights in self.weights if weights.tag == self.default)


DOWNLOADS = "https://download.pytorch.org/models"

BACKBONES = (
    Backbone("densenet121", "classifier.", {"pool": 1024}, (
        PretrainedWeights("imagenet1k_v1", f"{DOWNLOADS}/densenet121-a639ec97.pth", 256),
    ), "imagenet1k_v1", ("densenet-121",)),
    Backbone("resnet50", "fc.", {"pool": 2048}, (
        PretrainedWeights("imagenet1k_v1", f"{DOWNLOADS}/resnet50-0676ba61.pth", 256),
        PretrainedWeights("imagenet1k_v2", f"{DOWNLOADS}/resnet50-11ad3fa6.pth", 232),
    ), "imagenet1k_v2", ("resnet-50",)),
    Backbone("vgg16", "classifier.", {"pool": 512, "fc2": 4096}, (
        PretrainedWeights("imagenet1k_v1", f"{DOWNLOADS}/vgg16-397923af.pth", 256),
        PretrainedWeights("imagenet1k_features", f"{DOWNLOADS}/vgg16_features-amdegroot-88682ab5.pth", 256,
                          mean=(0.48235, 0.45882, 0.40784), std=(1 / 255, 1 / 255, 1 / 255)),
    ), "imagenet1k_v1", ("vgg-16",)),
    Backbone("mobilenet_v2", "classifier.", {"pool": 1280}, (
        PretrainedWeights("imagenet1k_v1", f"{DOWNLOADS}/mobilenet_v2-b0353104.pth", 256),
        PretrainedWeights("imagenet1k_v2", f"{DOWNLOADS}/mobilenet_v2-7ebf99e0.pth", 232),
    ), "imagenet1k_v2", ("mobilenetv2", "mobilenet-v2")),
)


def backbone_record(backbone: Backbone, pretrained: PretrainedWeights, tag: str, layer: str,
                    image_size: int | None, source: str | None = None) -> VectorRecord:
    """What the encoder of these weights (tag `random`: of random weights) and options makes."""
    # `ARCH.random` is one encoder whichever weights' entry built it: the default weights' preprocessing
    recipe = backbone.default_weights if tag == RANDOM else pretrained
    return VectorRecord(
        f"{backbone.arch}.{tag}", backbone.layers[layer], "image", architecture=backbone.arch, weights=tag,
        layer=layer, image_size=image_size, preprocessing=recipe.preprocessing(image_size),
        source=source or f"torchvision {version('torchvision')}", licence=LICENCE,
    )


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
