"""Caltech-101: JPEG files in 101_ObjectCategories/<category>/, and its customary 20 x 50 subset."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from embedkit.datasets.archives import unpack
from embedkit.datasets.base import ALL
from embedkit.datasets.download import Resource, verify
from embedkit.datasets.files import FilePart, scan_folder
from embedkit.datasets.published import PathLike, PublishedDataset, with_common_options
from embedkit.errors import DatasetFormatError, InvalidOptionError

TREE = "101_ObjectCategories"
TREE_ARCHIVE = f"{TREE}.tar.gz"
ZIP_MEMBER = f"caltech-101/{TREE_ARCHIVE}"
BACKGROUND = "BACKGROUND_Google"
# The tree's own archive as the publisher's first release served it; found on disk, never downloaded.
TREE_RESOURCE = Resource(TREE_ARCHIVE, "b224c7392d521a49829488ab0f1120d9", ())


class Caltech101(PublishedDataset):
    """101 object categories and a background class of 40 to 800 images each, about 300x200 px.

    The official zip holds `caltech-101/101_ObjectCategories.tar.gz`; the tree is unpacked once
    into the data folder. `background=False` (customary) leaves out BACKGROUND_Google.
    """

    name = "caltech101"
    homepage = "https://data.caltech.edu/records/mzrjq-6wc02"
    folders = ("caltech101", "caltech-101")
    resources = (Resource("caltech-101.zip", "3138e1922a9193bfa496528edbbc45d0",
                          ("https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip",)),)

    @with_common_options
    def __init__(self, *args: Any, background: bool = False, **kwargs: Any) -> None:
        self.background = background
        super().__init__(*args, **kwargs)

    def load(self, folder: Path, data_dir: PathLike | None) -> None:
        self.tree = self.unpacked(folder, data_dir)
        scan = scan_folder(self.tree, depth=1, exclude=() if self.background else (BACKGROUND,))
        if not scan.classes:
            raise DatasetFormatError(f"{self.tree} holds no category folders; delete it and download {self.name} again")
        self.notes = scan.notes()
        self.serve(scan.classes, scan.paths, scan.labels)

    def serve(self, classes: list[str], paths: list[str], labels: list[int | None]) -> None:
        """Serve the images at `paths` in the tree, labelled `labels` among `classes`."""
        self.classes = classes
        self._parts = [FilePart(self.name, ALL, str(self.tree), paths, labels, classes)]

    @classmethod
    def holds(cls, folder: Path) -> bool:
        return any((folder / name).exists() for name in (TREE, TREE_ARCHIVE, cls.resources[0].filename))

    @classmethod
    def unpacked(cls, found: Path, data_dir: PathLike | None) -> Path:
        """The 101_ObjectCategories folder, unpacked from whichever archive `found` holds if need be."""
        if (found / TREE).is_dir():
            return found / TREE
        target = cls.cache_dir(data_dir).parent
        if (found / TREE_ARCHIVE).is_file():
            verify(found / TREE_ARCHIVE, TREE_RESOURCE)
            return unpack(found / TREE_ARCHIVE, target, TREE)
        verify(found / cls.resources[0].filename, cls.resources[0])
        inner = unpack(found / cls.resources[0].filename, target, TREE_ARCHIVE, member=ZIP_MEMBER)
        tree = unpack(inner, target, TREE)
        inner.unlink()
        return tree

    def source_description(self) -> str:
        return f"{self.name} JPEG tree {self.tree}" + (" (with BACKGROUND_Google)" if self.background else "")


class Caltech101Subset(Caltech101):
    """`categories` categories with at least `per_class` images, and `per_class` images of each,
    drawn with random.Random(seed) from the sorted lists, so every run gets the same 1,000 images."""

    name = "caltech101-20"

    @with_common_options
    def __init__(self, *args: Any, seed: int = 0, categories: int = 20, per_class: int = 50, **kwargs: Any) -> None:
        self.seed, self.categories, self.per_class = seed, categories, per_class
        super().__init__(*args, background=False, **kwargs)

    def serve(self, classes: list[str], paths: list[str], labels: list[int | None]) -> None:
        """Serve the drawn subset of the images offered."""
        by_class: dict[int, list[str]] = {}
        for path, label in zip(paths, labels):
            by_class.setdefault(label, []).append(path)
        eligible = [label for label, images in sorted(by_class.items()) if len(images) >= self.per_class]
        if len(eligible) < self.categories:
            raise InvalidOptionError(
                f"{self.tree} has {len(eligible)} categories with {self.per_class} or more images; "
                f"ask for fewer categories or fewer images per class"
            )
        rng = random.Random(self.seed)
        chosen = sorted(rng.sample(eligible, self.categories))
        drawn_paths: list[str] = []
        drawn_labels: list[int | None] = []
        for new_label, old_label in enumerate(chosen):
            drawn_paths += sorted(rng.sample(by_class[old_label], self.per_class))
            drawn_labels += [new_label] * self.per_class
        super().serve([classes[label] for label in chosen], drawn_paths, drawn_labels)

    def source_description(self) -> str:
        return f"{self.name}: {len(self.classes)} x {len(self) // max(1, len(self.classes))} images " \
               f"of Caltech-101 (seed {self.seed}) from {self.tree}"
