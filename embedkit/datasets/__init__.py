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

COMMON_OPTIONS = ("data_dir", "download", "mirror", "progress")
"""Options passed to a dataset factory only when it takes them (a folder has nothing to download)."""

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
    `progress(filename, done, total)` for downloads); a factory that does not take one of
    COMMON_OPTIONS is called without it.
    """
    entry, argument = DATASETS.resolve(name)
    signature = inspect.signature(entry.factory)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    common = {"data_dir": data_dir, "download": download}
    common.update((key, options.pop(key)) for key in COMMON_OPTIONS if key in options)
    options.update((key, value) for key, value in common.items() if takes_any or key in signature.parameters)
    try:
        signature.bind(*(() if argument is None else (argument,)), **options)
    except TypeError as error:
        raise InvalidOptionError(f"dataset {name!r}: {error}; see docs/datasets.md for its options") from error
    return entry.create(argument, **options)


def list_datasets(pattern: str | None = None) -> list[Entry[Dataset]]:
    """Registered datasets whose name or alias matches the glob `pattern`."""
    return DATASETS.entries(pattern)


__all__ = ["ALL", "DATASETS", "Dataset", "DatasetView", "Entry", "Progress", "Resource", "Sample", "data_root",
           "get_dataset", "list_datasets"]
