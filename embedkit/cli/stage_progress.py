"""A progress bar on stderr for an analysis's stages (neighbours, folds, k-means): shown from 2 seconds on, with
the count, the rate and the time left; the analysis hears nothing of it but a `progress(stage, done, total)` call."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

DELAY = 2.0
"""Seconds before the bar appears: a quick analysis shows none."""


class StageProgress:
    """Used as `with StageProgress(console) as show:`, `show` being the analysis's `progress`."""

    def __init__(self, console: Console, *, enabled: bool = True):
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console,
                            transient=True, disable=not (enabled and console.is_terminal))
        self.tasks: dict[str, TaskID] = {}
        self.started = time.monotonic()
        self.shown = False

    def __enter__(self) -> StageProgress:
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.shown:
            self.bar.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total, rate="")
        if not self.shown and elapsed >= DELAY and done < total:
            self.bar.__enter__()
            self.shown = True
        task = self.bar.tasks[self.tasks[stage]]
        rate = f"{done / task.elapsed:,.0f}/s" if task.elapsed and done else ""
        self.bar.update(self.tasks[stage], completed=done, total=total, rate=rate)
