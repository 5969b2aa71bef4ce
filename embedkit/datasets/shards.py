"""What shard datasets share: the shard files a PATH_OR_GLOB names, the classes of the labels found in them,
and the payload fields a sample carries from its metadata."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from embedkit.errors import DatasetUnavailableError, InvalidOptionError
from embedkit.special_files import special_kind

SKIPPED_FIELDS = frozenset({"key", "status", "error_message", "exif"})
"""img2dataset's metadata fields that say nothing about the image once it is downloaded (kept out of payloads)."""


def shard_files(kind: str, pattern: str, suffixes: Sequence[str],
                notes: list[str] | None = None) -> tuple[str, list[Path]]:
    """The shard files `pattern` names, sorted, absolute: a file, a folder (its files ending in `suffixes`), or a
    glob; and their common folder (ids are paths relative to it, so they survive moving the shards). A FIFO, device
    or socket among them is skipped, with a line in `notes`."""
    if not pattern:
        raise InvalidOptionError(f"{kind}: needs a path or a glob, e.g. {kind}:shards/ or {kind}:'shards/*{suffixes[0]}'")
    expanded = os.path.expanduser(pattern)
    path = Path(expanded)
    if glob.has_magic(expanded):
        found = [Path(name) for name in glob.glob(expanded, recursive=True)]
    elif path.is_dir():
        found = [child for child in path.rglob("*") if child.name.endswith(tuple(suffixes))]
    else:
        found = [path] if path.exists() else []
    named = [file for file in found if file.name.endswith(tuple(suffixes))]
    special = sorted((str(file), what) for file in named
                     if (what := special_kind(file)) is not None and what != "a folder")
    files = sorted(file.resolve() for file in named if file.is_file())
    if special and not files:
        raise DatasetUnavailableError(f"{special[0][0]} is {special[0][1]}, not a regular file; pass {kind}: a "
                                      f"{suffixes[0]} file, a folder of them or a glob")
    if special and notes is not None:
        shown = ", ".join(name for name, _ in special[:5]) + (", ..." if len(special) > 5 else "")
        notes.append(f"skipped {len(special)} special file(s) that are not regular files (a FIFO, a device, a "
                     f"socket): {shown}")
    if not files:
        raise DatasetUnavailableError(f"{pattern} names no {' or '.join(suffixes)} file; pass {kind}:FOLDER, "
                                      f"{kind}:FILE or a glob (quoted) such as {kind}:'shards/*{suffixes[0]}'")
    root = Path(os.path.commonpath([file.parent for file in files]))
    return str(root), files


def relative_name(file: Path, root: str) -> str:
    return file.relative_to(root).as_posix()


def classes_of(values: Iterable[Any]) -> list[str]:
    """The class names of some labels: numbers in numeric order, else names in alphabetical order."""
    names = {str(value) for value in values if value is not None and value != ""}
    if all(name.lstrip("-").isdigit() for name in names):
        return sorted(names, key=int)
    return sorted(names)


def label_indices(values: Sequence[Any], classes: Sequence[str]) -> list[int | None]:
    index = {name: i for i, name in enumerate(classes)}
    return [None if value is None or value == "" else index[str(value)] for value in values]


def scalar_fields(metadata: Mapping[str, Any], leave_out: Iterable[str]) -> dict[str, Any]:
    """The metadata fields a payload can hold (text, numbers, booleans), without the ones left out."""
    skipped = SKIPPED_FIELDS | set(leave_out)
    return {key: value for key, value in metadata.items()
            if key not in skipped and isinstance(value, (str, int, float, bool))}
