"""`pixels`: an image's raw pixels, resized and flattened, as its vector: the floor every learnt encoder should
clear, the way Fashion-MNIST's own benchmark reports classifiers on raw pixels."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from embedkit.encoders.names import RANDOM, variant_suffix
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.records import Preprocessing, VectorRecord

if TYPE_CHECKING:
    from embedkit.encoders.image_module import ImageModuleEncoder

DEFAULT_SIZE = 32
LARGEST_SIZE = 128
"""3 x 128 x 128 = 49,152 dimensions; beyond that raw pixels are a baseline nobody can store."""


def pixels_record(image_size: int | None) -> VectorRecord:
    """`image_size` x `image_size` RGB pixels in [0, 1] (the short side resized, then centre-cropped)."""
    side = DEFAULT_SIZE if image_size is None else image_size
    if not 4 <= side <= LARGEST_SIZE:
        raise InvalidOptionError(f"the pixels encoder takes image sizes from 4 to {LARGEST_SIZE}, got {side}")
    return VectorRecord(
        "pixels", 3 * side * side, "image", architecture="flatten", weights="none", image_size=image_size,
        preprocessing=Preprocessing(side, side, "bilinear", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
        source="embedkit", licence="Apache-2.0",
    )


def create_encoder(*, weights: object = None, image_size: int | None = None, device: str = "auto",
                   precision: str = "fp32") -> ImageModuleEncoder:
    import torch

    if weights not in (None, RANDOM, "none"):
        raise InvalidOptionError(f"the pixels encoder has no weights to load; leave out {weights!r}")

    from embedkit.encoders.image_module import ImageModuleEncoder

    del precision  # pixels are what they are: no reduced precision changes them
    return ImageModuleEncoder(torch.nn.Flatten(), pixels_record(image_size), device=device, precision="fp32",
                              variant=variant_suffix(None, None, image_size))


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    register("pixels", create_encoder, aliases=("raw-pixels",), record=pixels_record(None),
             description=f"raw RGB pixels, {DEFAULT_SIZE} x {DEFAULT_SIZE} by default, flattened: the baseline")
