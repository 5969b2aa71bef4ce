"""An exclusive, per-process lock on an embedded store directory, released when the process ends; and the
shared hold a reader of a read-only store takes without writing anything."""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from embedkit.errors import StoreLockedError, StoreUnavailableError

log = logging.getLogger(__name__)

LOCK_FILE = ".embedkit.lock"
LEFTOVER_WAIT = 10.0
"""Seconds to wait for the processes a dead lock holder forked (decoding workers) to let the lock go."""
READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})

try:
    import fcntl
except ImportError:  # Windows: Qdrant Edge's own WAL lock still refuses a second process
    fcntl = None  # type: ignore[assignment]

_held: set[int] = set()
"""The descriptors of the locks this process holds: a forked child inherits them, and with them the lock."""


def drop_inherited_locks() -> None:
    """In a forked child (a decoding worker): stop sharing the parent's locks, so that they end with the parent,
    however long the child outlives it. Each descriptor is pointed at /dev/null rather than closed, since the
    child's copies of the parent's file objects still close them on exit; the lock itself is not touched (an
    unlock here would unlock the parent)."""
    if not _held:
        return
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        for descriptor in _held:
            os.dup2(null, descriptor)
    finally:
        os.close(null)
    _held.clear()


class DirectoryLock:
    def __init__(self, directory: Path):
        self.path = directory / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self) -> str | None:
        """Take the lock and write this process's id into it; None when taken. When this process may not write
        the directory (a read-only mount, no write permission) nothing is taken, and the reason is returned."""
        try:
            handle = open(self.path, "a+")
        except OSError as error:
            if error.errno in READ_ONLY_ERRNOS:
                return os.strerror(error.errno)
            raise StoreUnavailableError(f"cannot open the lock file {self.path} ({error})") from error
        if fcntl is not None:
            try:
                _lock_exclusively(handle, self.path)
            except OSError as error:
                handle.seek(0)
                holder = handle.read().strip()
                if _only_shared(handle):
                    handle.close()
                    raise StoreLockedError(
                        f"the embedded store {self.path.parent} is being copied by a process that reads it "
                        f"read-only; retry in a moment"
                    ) from error
                handle.close()
                if holder == str(os.getpid()):
                    raise StoreLockedError(
                        f"the embedded store {self.path.parent} is already open in this process; pass that open "
                        f"store (store=...) instead of opening it again"
                    ) from error
                if holder.isdigit() and not _alive(int(holder)):
                    raise StoreLockedError(
                        f"the embedded store {self.path.parent} is held by processes left over from process "
                        f"{holder}, which is gone; end them (fuser -k {self.path}) and retry"
                    ) from error
                by = f" by process {holder}" if holder else ""
                raise StoreLockedError(
                    f"the embedded store {self.path.parent} is open{by}; close that process (or wait for it "
                    f"to finish) and retry, or use a Qdrant server for concurrent access"
                ) from error
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        self._file = handle
        _held.add(handle.fileno())
        return None

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the lock shared while the block runs, writing nothing: no writer can open the store meanwhile,
        and a writer holding it makes this raise StoreLockedError. A store without a lock file has no writer."""
        try:
            handle = open(self.path)
        except FileNotFoundError:
            yield
            return
        except OSError as error:
            raise StoreUnavailableError(f"cannot read the lock file {self.path} ({error})") from error
        with handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError as error:
                    holder = handle.read().strip()
                    by = f" by process {holder}" if holder else ""
                    raise StoreLockedError(
                        f"the embedded store {self.path.parent} is being written{by}; wait for that process to "
                        f"finish and retry"
                    ) from error
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def release(self) -> None:
        if self._file is not None:
            _held.discard(self._file.fileno())
            if fcntl is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _lock_exclusively(handle: IO[str], path: Path) -> None:
    """Take the lock; when the process that wrote its id into it is gone, the processes it forked may hold it a
    little longer (they share its open files): wait up to LEFTOVER_WAIT seconds for them, then take it over."""
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except OSError:
        handle.seek(0)
        holder = handle.read().strip()
        if not holder.isdigit() or _alive(int(holder)):
            raise
    deadline = time.monotonic() + LEFTOVER_WAIT
    while True:
        time.sleep(0.1)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if time.monotonic() > deadline:
                raise
            continue
        log.warning("took over the lock of %s from process %s, which is gone", path.parent, holder)
        return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _only_shared(handle: IO[str]) -> bool:
    """Whether the lock that refused an exclusive hold is only held shared (by readers copying a read-only store)."""
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return True
