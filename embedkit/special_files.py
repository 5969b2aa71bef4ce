"""The one check that a name embedkit opens is a regular file: a FIFO, a device or a socket would block the open or
read without end, and a folder fails it; each is told apart from the file's mode, without opening it."""

from __future__ import annotations

import fcntl
import os
import stat
from typing import IO, Any

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class SpecialFileError(OSError):
    """A name that is not a regular file; `kind` says what it is. An OSError, so that callers that tell a missing
    or unreadable file in one line tell this one too."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(f"{os.fspath(path)} is {kind}, not a regular file")
        self.path, self.kind = os.fspath(path), kind


def special_kind(path: str | os.PathLike[str]) -> str | None:
    """What `path` is when it is not a regular file ("a FIFO", "a folder", ...); None for a regular
    file, and for a name with nothing behind it (opening it then says so)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return _kind(mode)


def check_regular(path: str | os.PathLike[str]) -> None:
    """Raise SpecialFileError when `path` is a FIFO, a device, a socket or a folder."""
    kind = special_kind(path)
    if kind is not None:
        raise SpecialFileError(path, kind)


def open_regular(path: str | os.PathLike[str], mode: str = "r", **options: Any) -> IO[Any]:
    """`open(path, mode)` for reading, refusing anything but a regular file with SpecialFileError. The file is opened
    without blocking and its mode read from the open descriptor, so a FIFO put in its place after a check still
    cannot hang the open."""
    if any(flag in mode for flag in "wax+"):
        raise ValueError("open_regular opens files for reading")
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = _kind(os.fstat(descriptor).st_mode)
        if kind is not None:
            raise SpecialFileError(path, kind)
        flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
        fcntl.fcntl(descriptor, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return open(descriptor, mode, **options)
    except BaseException:
        os.close(descriptor)
        raise


def read_regular_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    with open_regular(path, encoding=encoding) as stream:
        return stream.read()


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in KINDS if test(mode)), "not a regular file")

