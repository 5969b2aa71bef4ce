"""SIGTERM handled as Ctrl-C: a long command finishes the batch in flight, says what it did, and exits 143."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that whoever stops on Ctrl-C stops on it too; a command that
    stops this way exits 143, not 130."""


@dataclass
class Termination:
    """Whether SIGTERM arrived; the exit code an interrupted command ends with."""

    received: bool = False

    @property
    def exit_code(self) -> int:
        return 128 + signal.SIGTERM if self.received else 130


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[Termination]:
    """While inside, SIGTERM raises Terminated, a KeyboardInterrupt, in the main thread (as Ctrl-C would)."""
    termination = Termination()
    if threading.current_thread() is not threading.main_thread():
        yield termination  # only the main thread may handle signals
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        termination.received = True
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield termination
    finally:
        signal.signal(signal.SIGTERM, previous)
