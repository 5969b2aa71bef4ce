"""`webdataset:PATH_OR_GLOB`: tar shards in WebDataset's layout (img2dataset's output): the members of a sample
share a key (`000042.jpg`, `000042.txt`, `000042.json`, `000042.cls`)."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from embedkit.datasets.base import ALL, Dataset, Sample, SampleSource
from embedkit.datasets.files import IMAGE_SUFFIXES
from embedkit.datasets.shards import classes_of, label_indices, relative_name, scalar_fields, shard_files
from embedkit.errors import DatasetFormatError, ImageLoadError
from embedkit.images import ImageBytes

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", *sorted(suffix[1:] for suffix in IMAGE_SUFFIXES))
"""The member extensions that hold a sample's image, in the order one is chosen when a sample has several."""
METADATA_LIMIT = 1 << 20
"""A .txt, .cls or .json member larger than this is not metadata (it is left out of the payload)."""


def split_member(name: str) -> tuple[str, str]:
    """WebDataset's rule: the key is the member's path up to the first dot of its file name."""
    folder, _, base = name.rpartition("/")
    stem, _, extension = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), extension.lower()


@dataclass
class TarIndex:
    """Where each sample's image lies in one shard, and its metadata: read once from the tar headers and the
    small members, never from the images."""

    keys: list[str] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    without_image: list[str] = field(default_factory=list)


def index_shard(path: Path) -> TarIndex:
    """The samples of one uncompressed tar shard; a truncated or damaged tar is a DatasetFormatError."""
    size = path.stat().st_size
    samples: dict[str, dict[str, Any]] = {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                if member.offset_data + member.size > size:
                    raise tarfile.ReadError(f"member {member.name} ends past the end of the file")
                key, extension = split_member(member.name)
                entry = samples.setdefault(key, {})
                if extension in IMAGE_EXTENSIONS and "image" not in entry:
                    entry["image"] = (member.offset_data, member.size)
                elif extension in ("txt", "cls", "json") and member.size <= METADATA_LIMIT:
                    stream = tar.extractfile(member)
                    entry[extension] = stream.read().decode("utf-8", errors="replace") if stream else ""
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DatasetFormatError(f"shard {path} is truncated or not a tar file ({error}); write it again or leave "
                                 f"it out of the glob") from error
    index = TarIndex()
    for key, entry in samples.items():
        if "image" not in entry:
            index.without_image.append(key)
            continue
        metadata: dict[str, Any] = {}
        if "json" in entry:
            try:
                parsed = json.loads(entry["json"])
            except ValueError:
                parsed = {}
            metadata.update(parsed if isinstance(parsed, dict) else {})
        if "txt" in entry:
            metadata["caption"] = entry["txt"].strip()
        if "cls" in entry:
            metadata["cls"] = entry["cls"].strip()
        index.keys.append(key)
        index.offsets.append(entry["image"][0])
        index.sizes.append(entry["image"][1])
        index.metadata.append(metadata)
    return index


def read_member(path: str, offset: int, size: int) -> ImageBytes:
    """The bytes of one member of a tar shard."""
    try:
        with open(path, "rb") as file:
            file.seek(offset)
            data = file.read(size)
    except OSError as error:
        raise ImageLoadError(f"cannot read {path} ({error.strerror or error})") from error
    if len(data) < size:
        raise ImageLoadError(f"{path} ends inside this member (truncated since it was indexed)")
    return ImageBytes(data, path)


@dataclass
class TarPart:
    """The samples of one shard: ids `webdataset/<shard>/<key>`, sources `<shard path>::<key>`."""

    shard: str
    name: str
    keys: Sequence[str]
    offsets: np.ndarray
    sizes: np.ndarray
    label_list: Sequence[int | None]
    classes: Sequence[str]
    payloads: Sequence[dict[str, Any]]
    split: str = ALL

    def __len__(self) -> int:
        return len(self.keys)

    def labels(self) -> Sequence[int | None]:
        return self.label_list

    def sample(self, index: int) -> Sample:
        label = self.label_list[index]
        key = self.keys[index]
        return Sample(
            id=f"webdataset/{self.name}/{key}", split=self.split, label=label,
            label_name=None if label is None else self.classes[label], source=f"{self.shard}::{key}",
            payload=dict(self.payloads[index]),
            reader=partial(read_member, self.shard, int(self.offsets[index]), int(self.sizes[index])),
        )


class WebDatasetDataset(Dataset):
    """Tar shards of samples keyed by name. The image is the `.jpg`/`.png`/`.webp` member; the `.txt` member is
    the caption; the `.json` member's fields go into the payload; the label is the `.cls` member, or the json
    field named by `label_field` (img2dataset's `--save_additional_columns`)."""

    def __init__(self, path: str, label_field: str | None = None):
        super().__init__()
        root, files = shard_files("webdataset", path, (".tar",), self.notes)
        self.pattern = path
        self.name = f"webdataset:{os.path.abspath(os.path.expanduser(path))}"  # however the path was typed
        indexes = [(file, index_shard(file)) for file in files]
        field_name = label_field or "cls"
        values = [meta.get(field_name) for _, index in indexes for meta in index.metadata]
        self.classes = classes_of(values)
        self._parts: list[SampleSource] = []
        without = 0
        for file, index in indexes:
            without += len(index.without_image)
            if not index.keys:
                continue
            labels = label_indices([meta.get(field_name) for meta in index.metadata], self.classes)
            payloads = [scalar_fields(meta, (field_name,)) for meta in index.metadata]
            self._parts.append(TarPart(str(file), relative_name(file, root), index.keys,
                                       np.asarray(index.offsets, dtype=np.int64),
                                       np.asarray(index.sizes, dtype=np.int64), labels, self.classes, payloads))
        if label_field and not self.classes:
            self.notes.append(f"no sample has a {label_field!r} field in its .json member; the samples are "
                              f"unlabelled")
        if without:
            self.notes.append(f"{without} key(s) in the shards have no image member and were left out")
        self.files = [str(file) for file in files]

    def parts(self) -> list[SampleSource]:
        return self._parts

    def identity(self) -> str:
        return self.name

    def source_description(self) -> str:
        return f"{len(self.files)} WebDataset shard(s) under {os.path.commonpath(self.files)}"
