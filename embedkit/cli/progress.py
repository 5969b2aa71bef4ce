"""A long job's progress on stderr: rich's bar where a terminal is attached; elsewhere (a file, a pipe, a log) a plain
line every PLAIN_EVERY_S seconds or PLAIN_EVERY_SHARE of the total; nothing with `embedkit --quiet`. Ctrl-C or
SIGTERM inside a job ends in one line that says how far it came and how to go on."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

import click
from rich.console import Console
from rich.progress import BarColumn, Progress as Bar, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Column

from embedkit.cli.signals import Termination, terminate_as_interrupt
from embedkit.progress import Progress

QUIET_KEY = "embedkit.quiet"
JOB_KEY = "embedkit.job"
SHOWN_AFTER_S = 2.0
"""A job that ends sooner shows no plain line."""
PLAIN_EVERY_S = 10.0
PLAIN_EVERY_SHARE = 0.05


def analysis_resume(writes: bool) -> str:
    """What a stopped analysis says of what it left: nothing, or payload fields marked half-written (store.md)."""
    if not writes:
        return "nothing was written; run it again"
    return ("run it again: payload fields it had begun to write are marked half-written until a run gets to the "
            "end")


def duration(seconds: float) -> str:
    """0:04:05: hours, minutes, seconds."""
    whole = int(max(seconds, 0))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class JobProgress:
    """Shows how far `job` is; called with `embedkit.progress.Progress` (a listener for the Python API) or `update`.

    The rate counts from the first report and the time left follows from it; a stage whose total is unknown shows
    what it does and the time it has taken."""

    def __init__(self, job: str, unit: str = "items", resume: str = "run the same command again", *,
                 quiet: bool = False, interactive: bool | None = None, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic, console: Console | None = None):
        self.job, self.unit, self.resume = job, unit, resume
        self.stage = ""
        self.done, self.total = 0, None  # type: tuple[int, int | None]
        self.clock = clock
        self.started = clock()
        self.counting_from: tuple[float, int] | None = None
        self.quiet = quiet
        self.stream = stream
        console = console or Console(stderr=True)
        terminal = console.is_terminal and not console.is_dumb_terminal
        self.interactive = terminal if interactive is None else interactive
        self.bar: Bar | None = None
        self.task: TaskID | None = None
        self.shown_at: float | None = None
        self.shown_done = 0
        self.shown_stage = ""
        self.termination = Termination()
        """Whether SIGTERM arrived: a command that reports an interruption itself exits with its exit_code."""
        self.lock = threading.RLock()
        self.ticking = threading.Event()
        if not quiet and self.interactive:
            # in a narrow terminal the description is cut, not the counts, the speed or the time left
            description = Column(ratio=1, no_wrap=True, overflow="ellipsis", min_width=12)
            self.bar = Bar(TextColumn("{task.description}", table_column=description), BarColumn(bar_width=12),
                           TextColumn("{task.fields[count]}"), TextColumn("{task.fields[rate]}"),
                           TextColumn("{task.fields[left]}"), TimeElapsedColumn(), console=console, transient=True,
                           expand=True)
            self.task = self.bar.add_task(job, total=None, count="", rate="", left="")

    def print(self, line: str) -> None:
        """A line on stderr (above the bar in a terminal): what a job tells as it goes, an epoch's scores."""
        (self.bar.console if self.bar is not None else Console(stderr=True)).print(line, highlight=False,
                                                                                  markup=False, soft_wrap=True)

    def __call__(self, progress: Progress) -> None:
        self.update(progress.done, progress.total, stage=progress.stage, unit=progress.unit)

    def update(self, done: int, total: int | None = None, *, stage: str | None = None, unit: str | None = None) -> None:
        with self.lock:
            if stage is not None and stage != self.stage:
                self.stage, self.counting_from = stage, None  # a new stage counts its own rate
            self.unit = unit or self.unit
            self.done, self.total = done, total
            if self.counting_from is None:
                self.counting_from = (self.clock(), done)
            if self.bar is not None and self.task is not None:
                count = f"{done}/{total}" if total is not None else self.count()  # the bar shows the share
                self.bar.update(self.task, description=self.title(), total=total, completed=done, count=count,
                                rate=self.rate_text(), left=self.left_text())
            self.tick()

    def title(self) -> str:
        return f"{self.job}: {self.stage}" if self.stage else self.job

    def rate(self) -> float:
        if self.counting_from is None:
            return 0.0
        since, first = self.counting_from
        elapsed = self.clock() - since
        return (self.done - first) / elapsed if elapsed > 0 else 0.0

    def count(self) -> str:
        if self.total is None:
            return f"{self.done} {self.unit}" if self.done else ""
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        return f"{self.done}/{self.total} {self.unit}{share}"

    def rate_text(self) -> str:
        rate = self.rate()
        return f"{rate:.3g} {self.unit}/s" if rate > 0 else ""

    def left_text(self) -> str:
        rate = self.rate()
        if self.total is None or rate <= 0:
            return ""
        return f"{duration((self.total - self.done) / rate)} left"

    def line(self) -> str:
        """The plain line: job, stage, count, rate, time left, time taken."""
        parts = [self.count(), self.rate_text(), self.left_text(), f"{duration(self.clock() - self.started)} elapsed"]
        title = self.title() if self.stage or self.counting_from is not None else f"{self.job}: starting"
        return f"{title}: " + ", ".join(part for part in parts if part)

    def tick(self) -> None:
        """Print the plain line if one is due: after SHOWN_AFTER_S, then every PLAIN_EVERY_S or PLAIN_EVERY_SHARE
        of the total, at a new stage, and at the end of the total."""
        if self.quiet or self.interactive:
            return
        with self.lock:
            now = self.clock()
            if now - self.started < SHOWN_AFTER_S:
                return
            step = max(1, int(PLAIN_EVERY_SHARE * self.total)) if self.total else None
            due = (self.shown_at is None or now - self.shown_at >= PLAIN_EVERY_S or self.stage != self.shown_stage
                   or (step is not None and self.done - self.shown_done >= step)
                   or (self.total is not None and self.done >= self.total > self.shown_done))
            if due:
                stream = self.stream or sys.stderr
                stream.write(self.line() + "\n")
                stream.flush()
                self.shown_at, self.shown_done, self.shown_stage = now, self.done, self.stage

    def interrupted_line(self) -> str:
        """What Ctrl-C or SIGTERM leaves: how far the job came, and how to go on."""
        where = f" during {self.stage}" if self.stage else ""
        count = f" at {self.count()}" if self.done or self.total else ""
        return (f"interrupted: {self.job} stopped{where}{count} after {duration(self.clock() - self.started)}; "
                f"{self.resume}")

    def __enter__(self) -> JobProgress:
        if self.bar is not None:
            self.bar.start()
        elif not self.quiet:  # a stage of unknown length still shows a line every PLAIN_EVERY_S
            threading.Thread(target=self._heartbeat, name="embedkit-progress", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ticking.set()
        if self.bar is not None:
            self.bar.stop()

    def _heartbeat(self) -> None:
        while not self.ticking.wait(1.0):
            self.tick()


@contextlib.contextmanager
def job_progress(job: str, unit: str = "items", resume: str = "run the same command again") -> Iterator[JobProgress]:
    """A command's long job: its progress on stderr (off with `embedkit --quiet`), SIGTERM handled as Ctrl-C, and
    either of them told by the group as `JobProgress.interrupted_line` (how far the job came, then `resume`).

    A command that reports an interruption itself (ingest's summary) returns instead of raising."""
    context = click.get_current_context(silent=True)
    meta = context.meta if context is not None else {}
    progress = JobProgress(job, unit, resume, quiet=bool(meta.get(QUIET_KEY)))
    with terminate_as_interrupt() as termination, progress:
        progress.termination = termination
        meta[JOB_KEY] = progress
        try:
            yield progress
        except KeyboardInterrupt:
            raise  # the group tells the job's interrupted line
        except BaseException:
            meta.pop(JOB_KEY, None)
            raise
        meta.pop(JOB_KEY, None)


def interrupted_line(meta: dict) -> str:
    """The line Ctrl-C or SIGTERM ends a command with: the job's, or plainly `interrupted`."""
    job = meta.get(JOB_KEY)
    return job.interrupted_line() if isinstance(job, JobProgress) else "interrupted"
