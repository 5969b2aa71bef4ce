"""The EfficientNet-Lite network cut to its pooled features; imported only when an encoder is built."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from efficientnet_lite_pytorch import EfficientNet

from embedkit.encoders.image_module import ImageModuleEncoder
from embedkit.encoders.names import variant_suffix
from embedkit.encoders.weights import fit_state_dict, load_checkpoint, resolve_weights, verify_named_hash
from embedkit.records import VectorRecord


class PooledFeatures(torch.nn.Module):
    """The 1280-d global average of the last convolutional features."""

    def __init__(self, network: EfficientNet):
        super().__init__()
        self.network = network

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.network.extract_features(pixels).mean((2, 3))


def create_encoder(variant: int, weights_file: Callable[[int], Path], record: Callable[..., VectorRecord], *,
                   weights: str | None = None, image_size: int | None = None, device: str = "auto",
                   precision: str = "auto") -> ImageModuleEncoder:
    def pretrained() -> tuple[dict[str, torch.Tensor], Path]:
        file = weights_file(variant)  # efficientnet-lite0-57934424.pth: its name carries its SHA-256's start
        verify_named_hash(file, f"efficientnet_lite{variant}.imagenet1k")
        return load_checkpoint(file), file

    state, tag, file = resolve_weights(weights, "imagenet1k", pretrained)
    with torch.random.fork_rng():  # random weights are the same on every run
        torch.manual_seed(0)
        network = EfficientNet.from_name(f"efficientnet-lite{variant}")
    if state is not None:
        fit_state_dict(network, state, f"efficientnet_lite{variant}", f"weights {file}", unused_prefixes=("_fc.",))
    return ImageModuleEncoder(PooledFeatures(network), record(variant, tag, image_size), weights_file=file,
                              variant=variant_suffix(None, None, image_size), device=device, precision=precision)
