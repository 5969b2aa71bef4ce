"""The `ensemble:` and `stack:` families, registered without importing torch; `ensemble.builders` builds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from embedkit.hookspecs import hookimpl
from embedkit.records import VectorRecord

if TYPE_CHECKING:
    from embedkit.encoders.ensemble.encoder import EnsembleEncoder

EXAMPLE = "ensemble:mobilenet_v2+clip:ViT-S-32-alt"


def create_ensemble(argument: str | None, **options: Any) -> EnsembleEncoder:
    """`ensemble:a+b*0.5`, as `embedkit.encoders.ensemble.builders.create_ensemble` builds it."""
    from embedkit.encoders.ensemble.builders import create_ensemble

    return create_ensemble(argument, **options)


def create_stack(argument: str | None, **options: Any) -> EnsembleEncoder:
    """`stack:FILE.npz`, as `embedkit.encoders.ensemble.builders.create_stack` builds it."""
    from embedkit.encoders.ensemble.builders import create_stack

    return create_stack(argument, **options)


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    register(
        "ensemble:",
        create_ensemble,
        record=VectorRecord("ensemble:", 0, "image", architecture="ensemble", weights="members"),
        examples=(EXAMPLE,),
        description="concatenated L2-normalised members: ensemble:resnet50+densenet121*0.5 (optional pca=FILE.npz)",
    )
    register(
        "stack:",
        create_stack,
        record=VectorRecord("stack:", 0, "image", architecture="ensemble", weights="FILE.npz"),
        description="a stacking meta-model over members' features, trained by `embedkit stack train`: stack:FILE.npz",
    )
