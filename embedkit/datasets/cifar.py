"""CIFAR-10 and CIFAR-100: 32x32 colour images in the official pickled Python batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embedkit.datasets.archives import unpack
from embedkit.datasets.arrays import ArrayPart, PixelArray
from embedkit.datasets.derived import derived
from embedkit.datasets.download import Resource, verify
from embedkit.datasets.published import PathLike, PublishedDataset
from embedkit.datasets.safe_pickle import NUMPY_ARRAYS, PROTOCOL2_BYTES, RefusedGlobal, load_restricted
from embedkit.errors import DatasetFormatError, UntrustedFileError, first_line

SIDE = 32


CIFAR_GLOBALS = {**NUMPY_ARRAYS, **PROTOCOL2_BYTES}
"""All a CIFAR batch may name: its dict holds bytes/str, lists of ints and one uint8 ndarray."""


def load_batch(path: Path, dataset: str = "cifar10") -> dict[str, Any]:
    """One pickled batch, with its keys as str whether it was pickled by Python 2 or 3.

    The file may have been found on disk rather than unpacked from the checked archive, so it is read by a
    restricted unpickler: a file that names anything but numpy's array reconstruction is refused unrun."""
    try:
        batch = load_restricted(path, CIFAR_GLOBALS, encoding="latin1")
    except RefusedGlobal as error:
        raise UntrustedFileError(
            f"{path} is not a CIFAR batch: it asks to run {error.module}.{error.name}, which no CIFAR file holds, "
            f"and was not loaded; delete {path.parent} and run `embedkit datasets download {dataset}` for the "
            f"published archive, which is checked against its MD5"
        ) from error
    except Exception as error:  # a damaged or crafted pickle can fail in any way
        raise DatasetFormatError(f"cannot read CIFAR batch {path} ({first_line(error)}); "
                                 f"delete it and unpack the archive again") from error
    if not isinstance(batch, dict):
        raise DatasetFormatError(f"{path} is not a CIFAR batch (it holds a {type(batch).__name__})")
    return {key.decode() if isinstance(key, bytes) else key: value for key, value in batch.items()}


def _column(batch: dict[str, Any], key: str, path: Path) -> Any:
    if key not in batch:
        raise DatasetFormatError(f"CIFAR batch {path} has no {key!r} entry (it has {', '.join(map(str, batch))})")
    return batch[key]


def _names(values: Any) -> list[str]:
    return [value.decode() if isinstance(value, bytes) else str(value) for value in values]


class Cifar(PublishedDataset):
    """The batches unpacked from the official archive are converted once to uint8 .npy arrays
    (n, 32, 32, 3) in the cache folder, which views read through a memory map."""

    splits = ("train", "test")
    stored_as = "Python batches"
    archive_folder: str = ""
    batches: dict[str, tuple[str, ...]] = {}
    meta_file: str = ""
    label_key: str = ""
    names_key: str = ""
    extra_labels: dict[str, tuple[str, str]] = {}  # payload column -> (batch key, meta key of its names)

    def load(self, found: Path, data_dir: PathLike | None) -> None:
        self.folder = found / self.archive_folder
        if not (self.folder / self.meta_file).is_file():
            archive = found / self.resources[0].filename
            verify(archive, self.resources[0])
            self.folder = unpack(archive, self.cache_dir(data_dir).parent, self.archive_folder)
        meta = load_batch(self.folder / self.meta_file, self.name)
        self.classes = _names(_column(meta, self.names_key, self.folder / self.meta_file))
        extra_names = {column: _names(_column(meta, names, self.folder / self.meta_file))
                       for column, (_, names) in self.extra_labels.items()}
        cache = self.cache_dir(data_dir)
        for split, files in self.batches.items():
            sources = [self.folder / name for name in files]
            with np.load(derived(cache / f"{split}-labels.npz", sources,
                                 lambda tmp, s=sources: self._labels(s, tmp))) as index:
                labels, sizes = index["labels"], index["sizes"]
                payload = {column: index[column] for column in self.extra_labels}
            images = derived(cache / f"{split}-images.npy", sources,
                             lambda tmp, s=sources, n=sizes: self._images(s, n, tmp))
            if len(labels) and labels.max() >= len(self.classes):
                raise DatasetFormatError(f"{self.folder} has label {labels.max()} but {len(self.classes)} classes")
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
            members = [(int(start), str(source)) for start, source in zip(starts, sources)]
            self._parts.append(ArrayPart(self.name, split, PixelArray.from_npy(images), labels, self.classes,
                                         members, payload, extra_names))

    @classmethod
    def holds(cls, folder: Path) -> bool:
        unpacked = folder / cls.archive_folder
        if all((unpacked / name).is_file() for files in cls.batches.values() for name in files) \
                and (unpacked / cls.meta_file).is_file():
            return True
        return (folder / cls.resources[0].filename).is_file()

    def _images(self, sources: list[Path], sizes: np.ndarray, temporary: Path) -> None:
        """Stack the batches' rows (3,072 bytes: the red, green, then blue 32x32 planes) as HWC images,
        one batch in memory at a time."""
        out = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8,
                                        shape=(int(sizes.sum()), SIDE, SIDE, 3))
        start = 0
        for source, size in zip(sources, sizes.tolist()):
            data = np.asarray(_column(load_batch(source, self.name), "data", source), dtype=np.uint8)
            if data.shape != (size, 3 * SIDE * SIDE):
                raise DatasetFormatError(f"CIFAR batch {source} has data of shape {data.shape}, "
                                         f"expected ({size}, {3 * SIDE * SIDE})")
            out[start : start + size] = data.reshape(size, 3, SIDE, SIDE).transpose(0, 2, 3, 1)
            start += size
        out.flush()
        del out

    def _labels(self, sources: list[Path], temporary: Path) -> None:
        """The labels, the number of images of each batch, and the extra label columns, as one .npz."""
        batches = [(source, load_batch(source, self.name)) for source in sources]
        columns = {"labels": self.label_key, **{column: key for column, (key, _) in self.extra_labels.items()}}
        arrays = {name: np.concatenate([np.asarray(_column(batch, key, source), dtype=np.int64)
                                        for source, batch in batches]).astype(np.uint8)
                  for name, key in columns.items()}
        arrays["sizes"] = np.array([len(_column(batch, self.label_key, source)) for source, batch in batches])
        for source, batch in batches:
            if len(_column(batch, "data", source)) != len(batch[self.label_key]):
                raise DatasetFormatError(f"CIFAR batch {source} has {len(batch['data'])} images but "
                                         f"{len(batch[self.label_key])} labels")
        with open(temporary, "wb") as stream:
            np.savez(stream, **arrays)


class Cifar10(Cifar):
    name = "cifar10"
    homepage = "https://www.cs.toronto.edu/~kriz/cifar.html"
    folders = ("cifar10", "cifar-10")
    archive_folder = "cifar-10-batches-py"
    batches = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
    meta_file = "batches.meta"
    label_key = "labels"
    names_key = "label_names"
    resources = (Resource("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                          ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)),)


class Cifar100(Cifar):
    name = "cifar100"
    homepage = "https://www.cs.toronto.edu/~kriz/cifar.html"
    folders = ("cifar100", "cifar-100")
    archive_folder = "cifar-100-python"
    batches = {"train": ("train",), "test": ("test",)}
    meta_file = "meta"
    label_key = "fine_labels"
    names_key = "fine_label_names"
    extra_labels = {"coarse_label": ("coarse_labels", "coarse_label_names")}
    resources = (Resource("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85",
                          ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",)),)
