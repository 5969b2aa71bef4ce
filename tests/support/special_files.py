"""Special files in a folder (a FIFO, a folder with a file's name), and a call that must finish however it fails."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROMPTLY = 20.0
"""Seconds a call may take on a loaded 2-core machine; a hang on a FIFO never ends."""


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def finishes(call: Callable[[], Any], seconds: float = PROMPTLY) -> Any:
    """What `call()` returns (or raises), failing the test when it has not finished within `seconds`: a thread that
    hangs in an open of a FIFO stays behind as a daemon instead of hanging the test run."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (blocked on a special file?)"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
