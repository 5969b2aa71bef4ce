"""The torchvision CNN backbones: DenseNet-121, ResNet-50, VGG-16 and MobileNetV2."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torchvision
from torch import nn
from torchvision.models import (
    DenseNet121_Weights,
    MobileNet_V2_Weights,
    ResNet50_Weights,
    VGG16_Weights,
)
from torchvision.models._api import WeightsEnum

from embedkit.encoders.image_module import ImageModuleEncoder
from embedkit.encoders.names import RANDOM, variant_suffix
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.records import Preprocessing, VectorRecord
from embedkit.encoders.weights import download_state_dict, fit_state_dict, hub_checkpoint_path, resolve_weights


@dataclass(frozen=True)
class Backbone:
    arch: str
    weights_enum: type[WeightsEnum]
    head: str
    """Prefix of the classification head's parameters, which the features do not use."""
    layers: dict[str, int]
    """Feature layers and their dimensions; the first is the default."""
    aliases: tuple[str, ...] = field(default=())


LICENCE = "torchvision's BSD-3-Clause code; ImageNet-1k terms of use for the pretrained weights"

BACKBONES = (
    Backbone("densenet121", DenseNet121_Weights, "classifier.", {"pool": 1024}, ("densenet-121",)),
    Backbone("resnet50", ResNet50_Weights, "fc.", {"pool": 2048}, ("resnet-50",)),
    Backbone("vgg16", VGG16_Weights, "classifier.", {"pool": 512, "fc2": 4096}, ("vgg-16",)),
    Backbone("mobilenet_v2", MobileNet_V2_Weights, "classifier.", {"pool": 1280}, ("mobilenetv2", "mobilenet-v2")),
)


def feature_extractor(arch: str, model: nn.Module, layer: str) -> nn.Module:
    """Cut the classifier off `model` so that it returns the features of `layer`."""
    if arch == "vgg16":
        if layer == "fc2":  # the 4096-d output of the second fully connected layer, after its ReLU
            model.classifier = model.classifier[:5]
            return model
        return nn.Sequential(model.features, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    if arch == "resnet50":
        model.fc = nn.Identity()
    else:
        model.classifier = nn.Identity()
    return model


def preprocessing(weights: WeightsEnum, image_size: int | None) -> Preprocessing:
    """The weights' own ImageNet preprocessing; `image_size` replaces its resize and crop (e.g. 32 for CIFAR)."""
    recipe = weights.transforms()
    if image_size is None:
        resize, crop = recipe.resize_size[0], recipe.crop_size[0]
    else:
        if image_size < 16:
            raise InvalidOptionError(f"image size {image_size} is too small; use at least 16 pixels")
        resize = crop = image_size
    return Preprocessing(resize, crop, recipe.interpolation.value, tuple(recipe.mean), tuple(recipe.std))


def create_encoder(
    backbone: Backbone,
    pretrained: WeightsEnum,
    *,
    weights: str | os.PathLike[str] | None = None,
    layer: str | None = None,
    image_size: int | None = None,
    device: str | torch.device = "auto",
    precision: str = "fp32",
) -> ImageModuleEncoder:
    default_layer = next(iter(backbone.layers))
    layer = layer or default_layer
    if layer not in backbone.layers:
        raise InvalidOptionError(
            f"{backbone.arch} has no feature layer {layer!r}; choose one of {', '.join(backbone.layers)}"
        )
    pretrained_tag = pretrained.name.lower()
    label = f"{backbone.arch}.{pretrained_tag}"
    state, tag, weights_file = resolve_weights(
        weights, pretrained_tag, lambda: download_state_dict(pretrained.url, label)
    )
    with torch.random.fork_rng():  # random weights are the same on every run, so their vectors can be stored
        torch.manual_seed(0)
        model = getattr(torchvision.models, backbone.arch)(weights=None)
    if state is not None:
        unused = backbone.head if layer == "pool" else "classifier.6."
        fit_state_dict(model, state, backbone.arch, f"weights {weights_file}", unused_prefixes=(unused,))
    record = backbone_record(backbone, pretrained, tag, layer, image_size)
    return ImageModuleEncoder(
        feature_extractor(backbone.arch, model, layer), record, weights_file=weights_file,
        variant=variant_suffix(layer, default_layer, image_size), device=device, precision=precision,
    )


def backbone_record(backbone: Backbone, pretrained: WeightsEnum, tag: str, layer: str,
                    image_size: int | None) -> VectorRecord:
    """What the encoder of these weights (tag `random`: of random weights) and options makes."""
    # `ARCH.random` is one encoder whichever weights' entry built it: the default weights' preprocessing
    recipe = backbone.weights_enum.DEFAULT if tag == RANDOM else pretrained
    return VectorRecord(
        f"{backbone.arch}.{tag}", backbone.layers[layer], "image", architecture=backbone.arch, weights=tag,
        layer=layer, image_size=image_size, preprocessing=preprocessing(recipe, image_size),
        source=f"torchvision {torchvision.__version__}", licence=LICENCE,
    )


def cached(url: str) -> Callable[[], bool]:
    return lambda: hub_checkpoint_path(url).exists()


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    for backbone in BACKBONES:
        for pretrained in backbone.weights_enum:
            default = pretrained is backbone.weights_enum.DEFAULT
            register(
                f"{backbone.arch}.{pretrained.name.lower()}",
                functools.partial(create_encoder, backbone, pretrained),
                aliases=(backbone.arch, *backbone.aliases) if default else (),
                record=backbone_record(backbone, pretrained, pretrained.name.lower(), next(iter(backbone.layers)), None),
                weights_available=cached(pretrained.url),
                layers=dict(backbone.layers),
                description=f"torchvision {backbone.arch}, {pretrained.name} ImageNet weights",
            )
