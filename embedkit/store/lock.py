"""An exclusive, per-process lock on an embedded store directory, released when the process ends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from embedkit.errors import StoreLockedError, StoreUnavailableError

LOCK_FILE = ".embedkit.lock"

try:
    import fcntl
except ImportError:  # Windows: Qdrant Edge's own WAL lock still refuses a second process
    fcntl = None  # type: ignore[assignment]


class DirectoryLock:
    def __init__(self, directory: Path):
        self.path = directory / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        try:
            handle = open(self.path, "a+")
        except OSError as error:
            raise StoreUnavailableError(f"cannot open the lock file {self.path} ({error})") from error
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                handle.seek(0)
                holder = handle.read().strip()
                handle.close()
                if holder == str(os.getpid()):
                    raise StoreLockedError(
                        f"the embedded store {self.path.parent} is already open in this process; pass that open "
                        f"store (store=...) instead of opening it again"
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

    def release(self) -> None:
        if self._file is not None:
            if fcntl is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
