"""A dataset its publisher serves as files: found on disk when it is there, downloaded when it is not."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path

from embedkit.datasets.base import Dataset, SampleSource
from embedkit.datasets.download import Progress, Resource, fetch
from embedkit.datasets.locate import candidate_dirs, data_root, mirror_url
from embedkit.errors import DatasetUnavailableError

PathLike = str | os.PathLike[str]


class PublishedDataset(Dataset):
    """A subclass names its `folders` (its own name first, then names other tools use for it),
    its `resources`, how to recognise a folder that `holds` it and how its files are `stored_as`,
    and implements `load`.

    Opening one sets `folder` to where its files were found (or downloaded to), then calls `load`;
    a `load` that reads an unpacked archive instead points `folder` at that.
    """

    folders: tuple[str, ...] = ()
    resources: tuple[Resource, ...] = ()
    stored_as: str = "files"

    def __init__(
        self,
        data_dir: PathLike | None = None,
        download: bool = True,
        mirror: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        super().__init__()
        self._parts: list[SampleSource] = []
        self.folder = self.obtain(data_dir, download, mirror, progress)
        self.load(self.folder, data_dir)

    def load(self, folder: Path, data_dir: PathLike | None) -> None:
        """Fill `classes` and `_parts` (every SampleSource, all splits) from `folder`, which holds the
        dataset; files derived from it go under `cache_dir(data_dir)`."""
        raise NotImplementedError

    def parts(self) -> list[SampleSource]:
        return self._parts

    def source_description(self) -> str:
        return f"{self.name} {self.stored_as} in {self.folder}"

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


def with_common_options(init: Callable[..., None]) -> Callable[..., None]:
    """Gives a subclass's `__init__(self, *args, <its own options>, **kwargs)`, which passes `args` and
    `kwargs` on to PublishedDataset.__init__, the signature it has in effect: PublishedDataset's options,
    then its own. get_dataset reads it to pass and check options by name."""
    common = inspect.signature(PublishedDataset.__init__).parameters.values()
    written = inspect.signature(init)
    own = [parameter for parameter in written.parameters.values() if parameter.kind is inspect.Parameter.KEYWORD_ONLY]
    init.__signature__ = written.replace(parameters=[*common, *own])  # type: ignore[attr-defined]
    return init
