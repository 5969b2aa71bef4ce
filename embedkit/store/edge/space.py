"""Free disk space under an embedded store: Qdrant Edge writes through memory-mapped files, and a write to a
full disk kills the process with a bus error, so embedkit stops while a margin is left."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from embedkit.errors import InvalidOptionError, StoreFullError

MIN_FREE_ENV = "EMBEDKIT_MIN_FREE_MB"
DEFAULT_MIN_FREE_MB = 64
"""What a write must leave free: a new WAL segment or storage chunk of the store is 32 MB."""


def min_free_bytes() -> int:
    value = os.environ.get(MIN_FREE_ENV, "").strip()
    if not value:
        return DEFAULT_MIN_FREE_MB << 20
    try:
        megabytes = int(value)
    except ValueError as error:
        raise InvalidOptionError(f"${MIN_FREE_ENV}={value!r} is not a number of megabytes; e.g. 64") from error
    if megabytes < 0:
        raise InvalidOptionError(f"${MIN_FREE_ENV}={value!r} is negative; give megabytes, 0 or more")
    return megabytes << 20


def shortage(root: Path, needed: int = 0) -> str | None:
    """Why a write of `needed` bytes under `root` must not start, or None when the disk has room for it."""
    free = shutil.disk_usage(root).free
    margin = min_free_bytes()
    if free - needed >= margin:
        return None
    return (f"the disk holding {root} has {free >> 20} MB free, less than the {margin >> 20} MB embedkit leaves free "
            f"(${MIN_FREE_ENV})")


def check_space(root: Path, needed: int = 0) -> None:
    """Raise StoreFullError before a write that would leave less than the margin free."""
    reason = shortage(root, needed)
    if reason is not None:
        raise StoreFullError(f"{reason}; free some space, or store elsewhere (--qdrant)")
