"""Where dataset files are looked for: the data folder first, then system locations."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

DATA_ENV = "EMBEDKIT_DATA"
SYSTEM_ENV = "EMBEDKIT_SYSTEM_DATA"
MIRROR_ENV = "EMBEDKIT_DATASETS_MIRROR"
SYSTEM_DATA_DIRS: tuple[str, ...] = ("/usr/share/datasets", "/usr/local/share/datasets")
"""Where system packages install datasets (Debian's dataset-fashion-mnist: /usr/share/datasets/fashion-mnist)."""


def data_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder datasets are kept in and downloaded to: `data_dir`, else $EMBEDKIT_DATA,
    else ~/.cache/embedkit/datasets (under $XDG_CACHE_HOME when set). Always absolute: the sources stored with
    the vectors must be found again from any folder."""
    if data_dir is not None:
        return Path(data_dir).expanduser().absolute()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser().absolute()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "embedkit" / "datasets").absolute()


def system_dirs() -> list[Path]:
    """System dataset folders; $EMBEDKIT_SYSTEM_DATA (a path list, empty for none) replaces the defaults."""
    value = os.environ.get(SYSTEM_ENV)
    names = SYSTEM_DATA_DIRS if value is None else [v for v in value.split(os.pathsep) if v]
    return [Path(name).absolute() for name in names]


def candidate_dirs(folders: Sequence[str], data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders that may hold a dataset known by `folders` (its own name first), in look-up order:
    each under the data root, the data root itself, then each under every system location."""
    root = data_root(data_dir)
    found = [root / folder for folder in folders] + [root]
    found += [system / folder for system in system_dirs() for folder in folders]
    return found


def mirror_url(mirror: str | None = None) -> str | None:
    """A base URL that replaces every official download location: `mirror`, else $EMBEDKIT_DATASETS_MIRROR.
    A mirror serves each file as MIRROR/FOLDER/FILENAME, FOLDER being the dataset's folder name
    (`.../cifar10/cifar-10-python.tar.gz`, `.../caltech101/caltech-101.zip` for both Caltech sets)."""
    return mirror or os.environ.get(MIRROR_ENV) or None
