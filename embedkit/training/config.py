"""What a fine-tuning run is asked to do: one frozen record of it, kept in its checkpoint and its model card."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from embedkit.errors import InvalidOptionError

OBJECTIVES = ("classification", "multi-similarity", "triplet", "arcface", "proxy-anchor")
"""classification: a linear head and cross-entropy; the others: pytorch-metric-learning's losses on the features."""
MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")


@dataclass(frozen=True)
class TrainConfig:
    base: str
    """A registered image encoder whose backbone is trained: `efficientnet_lite0`, `mobilenet_v2.random`."""
    dataset: str
    name: str
    """The fine-tuned encoder is named `<base architecture>.ft-<name>`."""
    split: str | None = "train"
    validation_split: str | None = "test"
    limit: int | None = None
    """Learn from the first N images of the split."""
    sample: int | None = None
    """Learn from a seeded random N images of the split (instead of the first N)."""
    validation_limit: int | None = 1000
    objective: str = "classification"
    epochs: int = 3
    frozen_epochs: int = 1
    """Epochs with the backbone frozen (only the head, or the loss's own parameters, learn); 0: none."""
    learning_rate: float = 1e-3
    unfrozen_learning_rate: float = 1e-4
    batch_size: int = 32
    augmentation: float = 1.0
    """0: none; 1: the seeds' recipe (rotation 15°, zoom 10%, shifts 10%, shear 10°, horizontal flips)."""
    image_size: int | None = None
    precision: str = "auto"
    device: str = "auto"
    patience: int = 2
    """Stop after this many epochs without a better validation mAP@5."""
    seed: int = 0
    weight_decay: float = 1e-4
    base_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not MODEL_NAME.fullmatch(self.name):
            raise InvalidOptionError(f"model name {self.name!r} must be lower-case letters, digits, '_' or '-' "
                                     f"(at most 48), e.g. --name shoes")
        if self.objective not in OBJECTIVES:
            raise InvalidOptionError(f"unknown objective {self.objective!r}; use one of {', '.join(OBJECTIVES)}")
        if self.epochs < 1 or not 0 <= self.frozen_epochs <= self.epochs:
            raise InvalidOptionError(f"epochs must be at least 1 and frozen epochs between 0 and the epochs; got "
                                     f"{self.epochs} and {self.frozen_epochs}")
        for name in ("learning_rate", "unfrozen_learning_rate"):
            if not 0 < getattr(self, name) < 10:
                raise InvalidOptionError(f"{name.replace('_', ' ')} must be between 0 and 10, got {getattr(self, name)}")
        if self.batch_size < 4:
            raise InvalidOptionError(f"batch size must be at least 4 (a metric loss needs pairs), got {self.batch_size}")
        if not 0 <= self.augmentation <= 3:
            raise InvalidOptionError(f"augmentation strength must be between 0 and 3, got {self.augmentation}")
        if self.limit is not None and self.sample is not None:
            raise InvalidOptionError("--limit takes the first N images and --sample a random N: give one of them")
        if self.split == self.validation_split and self.limit is None and self.sample is None:
            raise InvalidOptionError(f"validating on the training split {self.split!r} needs --limit or --sample, so "
                                     f"that images are left out of training to validate on")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def same_run(self, other: dict[str, Any]) -> list[str]:
        """The settings of a checkpoint's run that differ from these (those that change what is learnt)."""
        mine = self.to_json()
        ignored = {"device", "epochs", "patience"}  # more epochs, or another device, continue the same run
        return [key for key in mine if key not in ignored and other.get(key) != mine[key]]
