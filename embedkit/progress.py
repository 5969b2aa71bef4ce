"""How far a long job has come, told to whoever called it: library code reports, it never prints (the CLI shows it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """`done` of `total` `unit` (None: not known yet) in the job's current `stage` ("encoding", "epoch 2 of 5")."""

    stage: str
    done: int = 0
    total: int | None = None
    unit: str = "items"


ProgressListener = Callable[[Progress], None]
"""Called with each new Progress; it must return quickly (a job calls it between its batches)."""


def tell(listener: ProgressListener | None, stage: str, done: int = 0, total: int | None = None,
         unit: str = "items") -> None:
    """Report to `listener` if there is one."""
    if listener is not None:
        listener(Progress(stage, done, total, unit))
