"""A dataset its publisher serves as files: found on disk when it is there, downloaded when it is not."""

from __future__ import annotations

import os
from pathlib import Path

from embedkit.datasets.base import Dataset
from embedkit.datasets.download import Progress, Resource, fetch
from embedkit.datasets.locate import candidate_dirs, data_root, mirror_url
from embedkit.errors import DatasetUnavailableError

PathLike = str | os.PathLike[str]


class PublishedDataset(Dataset):
    """A subclass names its `folders` (its own name first, then names other tools use for it),
    its `resources` and how to recognise a folder that `holds` it."""

    folders: tuple[str, ...] = ()
    resources: tuple[Resource, ...] = ()

    @classmethod
    def holds(cls, folder: Path) -> bool:
        raise NotImplementedError

    @classmethod
    def find(cls, data_dir: PathLike | None = None) -> Path | None:
        """The first folder in look-up order that holds the dataset, or None."""
        for folder in candidate_dirs(cls.folders, data_dir):
            if folder.is_dir() and cls.holds(folder):
                return folder
        return None

    @classmethod
    def obtain(
        cls,
        data_dir: PathLike | None = None,
        download: bool = True,
        mirror: str | None = None,
        progress: Progress | None = None,
    ) -> Path:
        """The folder holding the dataset, downloading the published files into the data root if need be."""
        found = cls.find(data_dir)
        if found is not None:
            return found
        target = data_root(data_dir) / cls.folders[0]
        if not download:
            looked = ", ".join(str(folder) for folder in candidate_dirs(cls.folders, data_dir))
            raise DatasetUnavailableError(
                f"dataset {cls.name} is not on this machine (looked in {looked}); "
                f"run `embedkit datasets download {cls.name}` or pass --data-dir"
            )
        for resource in cls.resources:
            if not (target / resource.filename).exists():
                fetch(resource, target, mirror=mirror_url(mirror), mirror_folder=cls.folders[0], progress=progress)
        return target

    @classmethod
    def cache_dir(cls, data_dir: PathLike | None = None) -> Path:
        """Where files derived from the published ones go (the dataset's own folder may be read-only)."""
        return data_root(data_dir) / cls.folders[0] / "cache"
