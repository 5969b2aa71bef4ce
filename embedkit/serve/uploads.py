"""An uploaded image, kept to the size limit and read the one way embedkit reads image files."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from embedkit.errors import EmbedkitError, ImageLoadError

CHUNK = 1 << 20
SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")


class UploadTooLargeError(EmbedkitError):
    """An upload over the server's limit (413)."""


class EmptyUploadError(EmbedkitError):
    """An upload with no bytes (400)."""


@contextmanager
def uploaded_file(upload: UploadFile, limit: int) -> Iterator[Path]:
    """The upload as a temporary file (removed afterwards) for `load_image`, which reads paths: EXIF orientation,
    16-bit and alpha handling and the decompression-bomb check are the same as for an ingested file."""
    match = SUFFIX.search(upload.filename or "")
    handle, name = tempfile.mkstemp(prefix="embedkit-upload-", suffix=match.group(0).lower() if match else "")
    try:
        written = 0
        with os.fdopen(handle, "wb") as file:
            while chunk := upload.file.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise UploadTooLargeError(f"the upload is over the server's limit of {limit / 2**20:g} MiB; "
                                              f"send a smaller image (or start the server with a larger --max-upload-mb)")
                file.write(chunk)
        if not written:
            raise EmptyUploadError("the upload is empty; send an image file (JPEG, PNG, WebP, ...)")
        try:
            yield Path(name)
        except ImageLoadError as error:  # named by the temporary file: name the upload instead
            shown = repr(upload.filename or "the upload")
            raise ImageLoadError(str(error).replace(repr(name), shown).replace(name, shown)) from error
    finally:
        os.unlink(name)
