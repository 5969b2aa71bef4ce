"""Where fine-tuned models live, and their registration as encoders: `<architecture>.ft-<name>`, listed and
created like any built-in encoder (this module is a built-in plugin, loaded through the same hook)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedkit.errors import InvalidOptionError, WeightsUnavailableError
from embedkit.hookspecs import hookimpl
from embedkit.records import VectorRecord

if TYPE_CHECKING:
    from embedkit.encoders.image_module import ImageModuleEncoder

log = logging.getLogger(__name__)

MODELS_ENV = "EMBEDKIT_MODELS"
CARD = "card.json"
WEIGHTS = "weights.pt"


def models_dir() -> Path:
    """$EMBEDKIT_MODELS, else ~/.cache/embedkit/models (under $XDG_CACHE_HOME when set)."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "embedkit" / "models"


def finetuned_name(base_record: VectorRecord, name: str) -> str:
    architecture = base_record.architecture or base_record.encoder.split(".")[0]
    return f"{architecture}.ft-{name}"


def finetuned_models(folder: Path | None = None) -> dict[str, Path]:
    """The fine-tuned models in `folder` (default: `models_dir()`) that have a card and weights, by encoder name."""
    found = {}
    root = folder or models_dir()
    for card in sorted(root.glob(f"*/{CARD}")) if root.is_dir() else []:
        try:
            document = json.loads(card.read_text())
            name = str(document["encoder"])
        except (OSError, ValueError, KeyError) as error:
            log.warning("skipping the fine-tuned model in %s: its card is unreadable (%s)", card.parent, error)
            continue
        if (card.parent / WEIGHTS).is_file():
            found[name] = card.parent
    return found


def card_record(folder: Path) -> VectorRecord:
    """What the model in `folder` makes, from its card (without loading torch)."""
    return VectorRecord.from_json(json.loads((folder / CARD).read_text())["record"])


def create_finetuned(folder: Path, *, weights: Any = None, image_size: int | None = None, layer: str | None = None,
                     device: str = "auto", precision: str = "auto") -> ImageModuleEncoder:
    """The base encoder's network with the fine-tuned weights in it, named and recorded as the fine-tuned model."""
    from embedkit.encoders import get_encoder
    from embedkit.encoders.weights import file_sha256, fit_state_dict, load_checkpoint

    record = card_record(folder)
    if weights is not None or layer is not None:
        raise InvalidOptionError(f"{record.encoder} is a fine-tuned model with its own weights and layer; leave out "
                                 f"--weights and --layer (train another model for others)")
    if image_size not in (None, record.image_size):
        raise InvalidOptionError(f"{record.encoder} was trained at image size {record.image_size}; leave out "
                                 f"--image-size")
    card = json.loads((folder / CARD).read_text())
    options = {"image_size": record.image_size} if record.image_size else {}
    encoder = get_encoder(card["base"]["encoder"], weights="random", device=device, precision=precision,
                          **card["base"].get("options", {}), **options)
    file = folder / WEIGHTS
    if not file.is_file():
        raise WeightsUnavailableError(f"the weights of {record.encoder} are missing from {folder}; train it again")
    fit_state_dict(encoder.module, load_checkpoint(file), card["base"]["encoder"], f"checkpoint {file}")
    encoder.module.to(encoder.device)
    encoder.use_preprocessing(record.preprocessing)  # as trained: the base's pretrained weights' recipe
    encoder.name = record.encoder
    encoder.weights_file = file
    encoder.base_record = record.replace(weights_sha256=file_sha256(file), weights_file=str(file))
    return encoder


def register_model(register: Callable[..., None], name: str, folder: Path, **how: Any) -> None:
    record = card_record(folder)
    register(name, lambda folder=folder, **options: create_finetuned(folder, **options), record=record,
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
