"""Files derived from dataset files once (a decompressed IDX, a CIFAR .npy), rebuilt when their sources change."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path


def source_stamp(sources: Sequence[Path]) -> str:
    lines = []
    for source in sources:
        status = source.stat()
        lines.append(f"{source.resolve()}\t{status.st_size}\t{status.st_mtime_ns}")
    return "\n".join(lines) + "\n"


def derived(target: Path, sources: Sequence[Path], build: Callable[[Path], None]) -> Path:
    """`target`, built by `build(temporary_path)` unless it exists and was built from these very sources.

    The build writes a temporary file that is renamed into place, so an interrupted build leaves
    nothing that looks finished.
    """
    stamp_file = target.with_name(target.name + ".source")
    stamp = source_stamp(sources)
    if target.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        build(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    stamp_file.write_text(stamp)
    return target
