"""Reading an embedded store this process may not write (a read-only mount, no write permission).

Qdrant Edge opens a shard's files for writing and rewrites some of them as it loads, so it cannot load a
read-only shard ("Failed to open mmap payload storage: Read-only file system"). A read-only store is read
from temporary copies instead: each collection is copied when it is first read, under the store's shared
lock, to a folder in the system's temporary directory that closing the store removes. Holes in Qdrant's
preallocated files stay holes, so a copy takes the disk space the collection takes, not its apparent size.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

from embedkit.errors import StoreUnavailableError
from embedkit.store.edge.lock import DirectoryLock

log = logging.getLogger(__name__)

BLOCK = 1 << 20


class ShardCopies:
    """Writable copies, in one temporary folder, of the shards of a read-only store."""

    def __init__(self, root: Path, lock: DirectoryLock):
        self.root = root
        self.lock = lock
        self.folder: Path | None = None
        self._remove: weakref.finalize | None = None

    def copy(self, collection: str) -> Path:
        """A fresh copy of the shard of `collection`, taken while no writer can change it."""
        source = self.root / collection
        try:
            if self.folder is None:
                self.folder = Path(tempfile.mkdtemp(prefix="embedkit-readonly-"))
                self._remove = weakref.finalize(self, shutil.rmtree, self.folder, True)
            target = self.folder / collection
            shutil.rmtree(target, ignore_errors=True)
            with self.lock.shared():
                copy_tree(source, target)
        except OSError as error:
            raise StoreUnavailableError(
                f"cannot copy the read-only collection {source} to a temporary folder to read it ({error}); "
                f"set TMPDIR to a folder with room for it, or open the store where it is writable"
            ) from error
        log.info("%s is read-only: reading a copy of collection %s in %s", self.root, collection, target)
        return target

    def remove(self) -> None:
        """Delete every copy (closing the store does this; so does the end of the process)."""
        if self._remove is not None:
            self._remove()


def copy_tree(source: Path, target: Path) -> None:
    """Folders and files, not their modes (the copy must be writable where the source is not), keeping holes."""

    def fail(error: OSError) -> None:
        raise error

    for folder, _, files in os.walk(source, onerror=fail):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            copy_sparse(Path(folder) / name, here / name)


def copy_sparse(source: Path, target: Path) -> None:
    """Copy a file, skipping its holes and its all-zero blocks, which stay holes in the copy."""
    with open(source, "rb", buffering=0) as reader, open(target, "wb") as writer:
        size = os.fstat(reader.fileno()).st_size
        for start, end in _data_ranges(reader.fileno(), size):
            reader.seek(start)
            position = start
            while position < end:
                block = reader.read(min(BLOCK, end - position))
                if not block:
                    break
                if block.count(0) != len(block):
                    writer.seek(position)
                    writer.write(block)
                position += len(block)
        writer.truncate(size)


def _data_ranges(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """The (start, end) byte ranges of a file that hold data; the whole file where holes cannot be asked for."""
    seek_data, seek_hole = getattr(os, "SEEK_DATA", None), getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        yield 0, size
        return
    position = 0
    while position < size:
        try:
            start = os.lseek(fd, position, seek_data)
        except OSError as error:  # ENXIO: only a hole is left
            if error.errno != errno.ENXIO and position == 0:  # the filesystem cannot tell: read it all
                yield 0, size
            return
        end = min(os.lseek(fd, start, seek_hole), size)
        yield start, end
        position = end
