"""The IDX format of MNIST and Fashion-MNIST: a magic number, dimensions, then raw big-endian data."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np

from embedkit.datasets.arrays import PixelArray
from embedkit.datasets.derived import derived
from embedkit.errors import DatasetFormatError

UBYTE = 0x08


def _header(data: bytes, path: Path) -> tuple[int, tuple[int, ...]]:
    """The type code and dimensions of an IDX file from its first bytes."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetFormatError(f"{path} is not an IDX file (bad magic number); delete it and download it again")
    type_code, ndim = data[2], data[3]
    if len(data) < 4 + 4 * ndim:
        raise DatasetFormatError(f"{path} ends inside its IDX header; delete it and download it again")
    return type_code, struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])


def _check(path: Path, type_code: int, dims: tuple[int, ...], ndim: int, size: int) -> None:
    if type_code != UBYTE or len(dims) != ndim:
        raise DatasetFormatError(
            f"{path} holds IDX type 0x{type_code:02x} with {len(dims)} dimensions; expected unsigned bytes "
            f"with {ndim}"
        )
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if size < expected:
        raise DatasetFormatError(
            f"{path} is truncated ({size} bytes, its header promises {expected}); delete it and download it again"
        )


def read_labels(path: Path) -> np.ndarray:
    """The labels of an idx1-ubyte file (plain or .gz), read whole: they are one byte per image."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            data = stream.read()
    except (OSError, EOFError) as error:
        raise DatasetFormatError(f"cannot read {path} ({error}); delete it and download it again") from error
    type_code, dims = _header(data, path)
    _check(path, type_code, dims, 1, len(data))
    return np.frombuffer(data, dtype=np.uint8, count=dims[0], offset=8).copy()


def open_images(path: Path, cache_dir: Path) -> PixelArray:
    """The images of an idx3-ubyte file as a memory map; a .gz file is decompressed once into `cache_dir`."""
    if path.suffix == ".gz":
        def decompress(temporary: Path) -> None:
            try:
                with gzip.open(path, "rb") as source, open(temporary, "wb") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
            except (OSError, EOFError) as error:
                raise DatasetFormatError(f"cannot decompress {path} ({error}); delete it and download it again") \
                    from error

        raw = derived(cache_dir / path.stem, [path], decompress)
    else:
        raw = path
    with open(raw, "rb") as stream:
        head = stream.read(16)
    type_code, dims = _header(head, path)
    _check(path, type_code, dims, 3, raw.stat().st_size)
    return PixelArray(str(raw), 16, tuple(dims))
