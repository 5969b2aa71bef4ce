"""A torchvision CNN cut to the features of one layer, with its weights loaded; imported when an encoder is built."""

from __future__ import annotations

import os

import torch
import torchvision
from torch import nn

from embedkit.encoders.builtin.torchvision_cnn_pretrained import Backbone, PretrainedWeights, backbone_record
from embedkit.encoders.image_module import ImageModuleEncoder
from embedkit.encoders.names import variant_suffix
from embedkit.encoders.weights import download_state_dict, fit_state_dict, resolve_weights
from embedkit.errors import InvalidOptionError


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


def build_encoder(
    backbone: Backbone,
    pretrained: PretrainedWeights,
    *,
    weights: str | os.PathLike[str] | None = None,
    layer: str | None = None,
    image_size: int | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
) -> ImageModuleEncoder:
    default_layer = next(iter(backbone.layers))
    layer = layer or default_layer
    if layer not in backbone.layers:
        raise InvalidOptionError(
            f"{backbone.arch} has no feature layer {layer!r}; choose one of {', '.join(backbone.layers)}"
        )
    label = f"{backbone.arch}.{pretrained.tag}"
    state, tag, weights_file = resolve_weights(
        weights, pretrained.tag, lambda: download_state_dict(pretrained.url, label)
    )
    with torch.random.fork_rng():  # random weights are the same on every run, so their vectors can be stored
        torch.manual_seed(0)
        model = getattr(torchvision.models, backbone.arch)(weights=None)
    if state is not None:
        unused = backbone.head if layer == "pool" else "classifier.6."
        fit_state_dict(model, state, backbone.arch, f"weights {weights_file}", unused_prefixes=(unused,))
    record = backbone_record(backbone, pretrained, tag, layer, image_size,
                             source=f"torchvision {torchvision.__version__}")
    return ImageModuleEncoder(
        feature_extractor(backbone.arch, model, layer), record, weights_file=weights_file,
        variant=variant_suffix(layer, default_layer, image_size), device=device, precision=precision,
    )
