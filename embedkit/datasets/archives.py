"""Unpacking a downloaded archive into place, all or nothing."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from embedkit.errors import DatasetFormatError


def unpack(archive: Path, folder: Path, expected: str, member: str | None = None) -> Path:
    """Unpack `archive` (.tar.gz, .tgz, .tar or .zip) into a temporary folder beside `folder/expected`,
    then move `expected` (a top-level entry of the archive) into place and return its path.

    With `member`, only that entry of the archive is unpacked (a tar inside the official zip).
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{expected}.", dir=folder) as scratch:
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as bundle:
                    bundle.extractall(scratch, members=[member] if member else None)
            else:
                with tarfile.open(archive) as bundle:
                    if member:
                        bundle.extractall(scratch, members=[bundle.getmember(member)], **_safe())
                    else:
                        bundle.extractall(scratch, **_safe())
        except (tarfile.TarError, zipfile.BadZipFile, KeyError, EOFError, OSError) as error:
            raise DatasetFormatError(
                f"cannot unpack {archive} ({error}); delete it and download it again"
            ) from error
        unpacked = Path(scratch) / (member or expected)
        if not unpacked.exists():
            raise DatasetFormatError(f"{archive} holds no {member or expected!r}; is it the official archive?")
        target = folder / (Path(member).name if member else expected)
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(unpacked, target)
    return target


def _safe() -> dict:
    """Refuse absolute paths and links out of the folder, where this Python can."""
    return {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
