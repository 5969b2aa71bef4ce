"""Samples stored as image files under a root folder, and the scan that finds them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedkit.datasets.base import Sample
from embedkit.special_files import special_kind

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"})


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


@dataclass
class FilePart:
    """Image files under `root`, as paths relative to it, with labels (None: unlabelled).

    Ids are `id_prefix/relative path`, so they survive moving the root.
    """

    id_prefix: str
    split: str
    root: str
    paths: Sequence[str]
    label_list: Sequence[int | None]
    classes: Sequence[str]
    payloads: Sequence[Mapping[str, Any]] | None = None
    ids: Sequence[str] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def labels(self) -> Sequence[int | None]:
        return self.label_list

    def sample(self, index: int) -> Sample:
        path = self.paths[index]
        label = self.label_list[index]
        return Sample(
            id=self.ids[index] if self.ids is not None else f"{self.id_prefix}/{path}",
            split=self.split,
            label=label,
            label_name=None if label is None else self.classes[label],
            source=os.path.join(self.root, path),
            payload=dict(self.payloads[index]) if self.payloads is not None else {},
        )


@dataclass
class FolderScan:
    """What a folder holds: image files labelled by the sub-folder `depth` levels down."""

    root: Path
    depth: int
    classes: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    labels: list[int | None] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    """Names of images that are no regular file (a FIFO, a device, a socket): skipped, never opened."""
    repeated_links: list[str] = field(default_factory=list)
    """Linked folders not read again: they lead to a folder already read (a loop, or two links to one)."""
    empty_classes: list[str] = field(default_factory=list)
    unlabelled: int = 0

    def notes(self) -> list[str]:
        notes = []
        if self.ignored:
            shown = ", ".join(self.ignored[:5]) + (", ..." if len(self.ignored) > 5 else "")
            notes.append(f"ignored {len(self.ignored)} non-image file(s) in {self.root}: {shown}")
        if self.special:
            shown = ", ".join(self.special[:5]) + (", ..." if len(self.special) > 5 else "")
            notes.append(f"skipped {len(self.special)} special file(s) in {self.root} that are not regular files "
                         f"(a FIFO, a device, a socket): {shown}")
        if self.repeated_links:
            shown = ", ".join(self.repeated_links[:5]) + (", ..." if len(self.repeated_links) > 5 else "")
            notes.append(f"{len(self.repeated_links)} linked folder(s) in {self.root} lead to a folder already "
                         f"read and were not read again: {shown}")
        if self.empty_classes:
            shown = ", ".join(self.empty_classes[:10]) + (", ..." if len(self.empty_classes) > 10 else "")
            notes.append(f"{len(self.empty_classes)} class folder(s) in {self.root} hold no images: {shown}")
        if self.unlabelled and self.classes:
            notes.append(f"{self.unlabelled} image(s) lie above the class folders (depth {self.depth}) "
                         f"and are unlabelled")
        return notes


def scan_folder(root: str | Path, depth: int = 1, exclude: Sequence[str] = ()) -> FolderScan:
    """Every image under `root`, sorted; its class is the first `depth` folders of its relative path.

    Hidden files and folders are skipped; other non-image files are listed in `ignored`; class
    folders (at `depth`) without images in `empty_classes`. A folder with no class folders gives
    unlabelled samples. Classes named in `exclude` are left out.
    """
    root = Path(root)
    scan = FolderScan(root, depth)
    found: list[tuple[str, str | None]] = []
    class_dirs: set[str] = set()
    walked: set[str] = set()
    for current, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(current)
        if real in walked:  # a linked folder seen before (a link loop, or two links to one folder)
            scan.repeated_links.append(Path(current).relative_to(root).as_posix())
            dirs[:] = []
            continue
        walked.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = Path(current).relative_to(root)
        parts = relative.parts
        if parts and parts[0] in exclude and depth >= 1:
            dirs[:] = []
            continue
        if len(parts) == depth and depth > 0:
            class_dirs.add(relative.as_posix())
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = (relative / name).as_posix()
            if not is_image_name(name):
                scan.ignored.append(path)
                continue
            kind = special_kind(os.path.join(current, name))
            if kind is not None:
                scan.special.append(f"{path} ({kind})")
                continue
            found.append((path, "/".join(parts[:depth]) if len(parts) >= depth > 0 else None))
    with_class = {name for _, name in found if name is not None}
    scan.classes = sorted(class_dirs | with_class)
    index = {name: i for i, name in enumerate(scan.classes)}
    scan.empty_classes = sorted(class_dirs - with_class)
    for path, name in sorted(found):
        scan.paths.append(path)
        scan.labels.append(None if name is None else index[name])
    scan.unlabelled = sum(1 for label in scan.labels if label is None)
    return scan
