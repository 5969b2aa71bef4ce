"""Tiny datasets in their publishers' formats, served by an HTTP server on 127.0.0.1.

The files are built the way the publishers build theirs (pickled CIFAR batches in a .tar.gz,
gzipped IDX, the Caltech-101 zip holding 101_ObjectCategories.tar.gz), with pixel values that
encode each image's position, so tests can tell whether the right pixels come back.
The fixtures that serve them are in tests/conftest.py.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


CIFAR10_SIZES = {"train": 5 * 4, "test": 6}
CIFAR100_SIZES = {"train": 8, "test": 4}
IDX_SIZES = {"train": 12, "test": 6}
CALTECH_CATEGORIES = {**{f"category_{i:02d}": 50 + i % 3 for i in range(22)}, "tiny": 3, "BACKGROUND_Google": 4}


def cifar_pixel(index: int, label: int) -> tuple[int, int, int]:
    """The colour of every pixel of image `index` of a generated CIFAR split."""
    return (index % 256, (label * 10) % 256, 200)


def idx_pixel(index: int, offset: int) -> int:
    return (offset + index * 7) % 256


def jpeg_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (12, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _tar_add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def _cifar_batch(labels: list[int], label_key: str, start: int, bytes_keys: bool, extra: dict | None = None) -> bytes:
    rows = np.zeros((len(labels), 3, 32, 32), dtype=np.uint8)
    for i, label in enumerate(labels):
        for channel, value in enumerate(cifar_pixel(start + i, label)):
            rows[i, channel] = value
    batch = {"batch_label": "generated", label_key: labels, "data": rows.reshape(len(labels), -1),
             "filenames": [f"image_{start + i}.png" for i in range(len(labels))], **(extra or {})}
    if bytes_keys:  # how the Python 2 pickles of the official files read with encoding="bytes"
        batch = {key.encode(): value for key, value in batch.items()}
    return pickle.dumps(batch, protocol=2)


def make_cifar10(folder: Path) -> Path:
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for number in range(1, 6):
            labels = [(number + i) % 10 for i in range(4)]
            _tar_add(archive, f"cifar-10-batches-py/data_batch_{number}",
                     _cifar_batch(labels, "labels", (number - 1) * 4, bytes_keys=False))
        _tar_add(archive, "cifar-10-batches-py/test_batch",
                 _cifar_batch([i % 10 for i in range(6)], "labels", 0, bytes_keys=False))
        names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        _tar_add(archive, "cifar-10-batches-py/batches.meta",
                 pickle.dumps({"label_names": names, "num_cases_per_batch": 10000, "num_vis": 3072}, protocol=2))
        _tar_add(archive, "cifar-10-batches-py/readme.html", b"<html></html>")
    return path


def make_cifar100(folder: Path) -> Path:
    path = folder / "cifar-100-python.tar.gz"
    fine_names = [f"fine_{i:02d}".encode() for i in range(100)]
    coarse_names = [f"coarse_{i:02d}".encode() for i in range(20)]
    with tarfile.open(path, "w:gz") as archive:
        for split, count in CIFAR100_SIZES.items():
            fine = [(i * 13) % 100 for i in range(count)]
            coarse = [f // 5 for f in fine]
            _tar_add(archive, f"cifar-100-python/{split}",
                     _cifar_batch(fine, "fine_labels", 0, bytes_keys=True, extra={"coarse_labels": coarse}))
        _tar_add(archive, "cifar-100-python/meta",
                 pickle.dumps({b"fine_label_names": fine_names, b"coarse_label_names": coarse_names}, protocol=2))
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def make_idx(folder: Path, offset: int) -> list[Path]:
    paths = []
    for split, prefix in (("train", "train"), ("test", "t10k")):
        count = IDX_SIZES[split]
        images = np.stack([np.full((28, 28), idx_pixel(i, offset), dtype=np.uint8) for i in range(count)])
        labels = np.array([i % 10 for i in range(count)], dtype=np.uint8)
        for name, array in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
            path = folder / f"{name}.gz"
            path.write_bytes(gzip.compress(idx_bytes(array), mtime=0))
            paths.append(path)
    return paths


def make_caltech(folder: Path) -> Path:
    tree = io.BytesIO()
    with tarfile.open(fileobj=tree, mode="w:gz") as archive:
        for number, (category, count) in enumerate(sorted(CALTECH_CATEGORIES.items())):
            for i in range(1, count + 1):
                _tar_add(archive, f"101_ObjectCategories/{category}/image_{i:04d}.jpg",
                         jpeg_bytes((number * 10 % 256, i % 256, 128)))
    annotations = io.BytesIO()
    with tarfile.open(fileobj=annotations, mode="w") as archive:
        _tar_add(archive, "Annotations/README", b"not used")
    path = folder / "caltech-101.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("caltech-101/101_ObjectCategories.tar.gz", tree.getvalue())
        bundle.writestr("caltech-101/Annotations.tar", annotations.getvalue())
        bundle.writestr("caltech-101/show_annotation.m", "% not used\n")
    return path
