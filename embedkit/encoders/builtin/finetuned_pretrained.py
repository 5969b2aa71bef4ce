"""Where fine-tuned models live and what their cards say, known without torch: a model is a folder
`<architecture>.ft-<name>/` in the models folder with its card and weights."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from embedkit.records import VectorRecord

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
    """The encoder name of the model `name` fine-tuned from the encoder of `base_record`."""
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


def read_card(folder: Path) -> dict[str, Any]:
    """The card of the model in `folder`, as `embedkit train` wrote it."""
    card: dict[str, Any] = json.loads((folder / CARD).read_text())
    return card


def card_record(folder: Path) -> VectorRecord:
    """What the model in `folder` makes, from its card."""
    return VectorRecord.from_json(read_card(folder)["record"])
