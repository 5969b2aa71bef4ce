"""Fine-tuned models as encoders, `<architecture>.ft-<name>`: one per model in the models folder, listed and
created like any built-in encoder. Registered from the models' cards (`finetuned_pretrained`) without
importing torch; `finetuned_model` builds one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedkit.encoders.builtin.finetuned_pretrained import card_record, finetuned_models
from embedkit.hookspecs import hookimpl

if TYPE_CHECKING:
    import torch

    from embedkit.encoders.image_module import ImageModuleEncoder

log = logging.getLogger(__name__)


def create_encoder(folder: Path, *, weights: Any = None, image_size: int | None = None, layer: str | None = None,
                   device: str | torch.device = "auto", precision: str = "auto") -> ImageModuleEncoder:
    """The model in `folder`: its own weights, layer and image size (none other may be asked for)."""
    from embedkit.encoders.builtin.finetuned_model import build_encoder

    return build_encoder(folder, weights=weights, image_size=image_size, layer=layer, device=device,
                         precision=precision)


def register_model(register: Callable[..., None], name: str, folder: Path, **how: Any) -> None:
    record = card_record(folder)
    register(name, lambda folder=folder, **options: create_encoder(folder, **options), record=record,
             weights_available=lambda: True, layers={record.layer or "pool": record.dim},
             description=f"fine-tuned from {record.details.get('base', '?')} ({folder})", **how)


def register_now(name: str, folder: Path) -> None:
    """Make a model trained in this process an encoder by name at once, in place of an older one of its name
    (other processes find it in `models_dir()`)."""
    from embedkit.encoders import ENCODERS

    ENCODERS.has_name(name)  # load the registry first, so that the hook's registration is the one replaced
    register_model(ENCODERS.register, name, folder, replace=True)


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    for name, folder in finetuned_models().items():
        try:
            register_model(register, name, folder)
        except (OSError, ValueError, KeyError) as error:
            log.warning("skipping the fine-tuned model in %s: %s", folder, error)
