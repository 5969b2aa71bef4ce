"""Datasets: the interface, the registry, and how to open one by name."""

from __future__ import annotations

import inspect
import os
from typing import Any

from embedkit.datasets.base import ALL, Dataset, DatasetView, Sample
from embedkit.datasets.download import Progress, Resource
from embedkit.datasets.locate import data_root
from embedkit.errors import InvalidOptionError
from embedkit.plugins import load_registry
from embedkit.registry import Entry, Registry

DATASETS: Registry[Dataset] = Registry("dataset", lambda registry: load_registry("register_datasets", registry))


def get_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    **options: Any,
) -> Dataset:
    """Open the dataset registered as `name` (or an alias), e.g. `get_dataset("cifar10")`,
    `get_dataset("folder:~/photos", depth=2)`.

    Files are looked for in `data_dir` (else $EMBEDKIT_DATA, else ~/.cache/embedkit/datasets), then
    in system locations, and downloaded into the first when `download` allows. Common options of
    the built-ins: `mirror` (a base URL that replaces the official one), `progress` (a callable
    `progress(filename, done, total)` for downloads).
    """
    entry, argument = DATASETS.resolve(name)
    options = {"data_dir": data_dir, "download": download, **options}
    try:
        inspect.signature(entry.factory).bind(*(() if argument is None else (argument,)), **options)
    except TypeError as error:
        raise InvalidOptionError(f"dataset {name!r}: {error}; see `embedkit datasets show {name} --help`") from None
    return entry.create(argument, **options)


def list_datasets(pattern: str | None = None) -> list[Entry[Dataset]]:
    """Registered datasets whose name or alias matches the glob `pattern`."""
    return DATASETS.entries(pattern)


__all__ = ["ALL", "DATASETS", "Dataset", "DatasetView", "Entry", "Progress", "Resource", "Sample", "data_root",
           "get_dataset", "list_datasets"]
