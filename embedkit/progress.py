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


def within(listener: ProgressListener | None, job: str) -> ProgressListener | None:
    """A listener that tells `listener` each stage as "JOB: stage" (a part of a larger job), None without one."""
    if listener is None:
        return None
    return lambda progress: listener(Progress(f"{job}: {progress.stage}", progress.done, progress.total,
                                              progress.unit))


def tell(listener: ProgressListener | None, stage: str, done: int = 0, total: int | None = None,
         unit: str = "items") -> None:
    """Report to `listener` if there is one."""
    if listener is not None:
        listener(Progress(stage, done, total, unit))
