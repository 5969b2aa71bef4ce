"""The dataset interface: a Dataset knows its classes and splits; a DatasetView yields lazy Samples."""

from __future__ import annotations

import bisect
import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image

from embedkit.errors import ImageLoadError, InvalidOptionError
from embedkit.images import ImageInput, ReadOptions, load_image

ALL = "all"
"""The split of a dataset that publishes none (a folder, Caltech-101)."""


@dataclass(frozen=True)
class Sample:
    """One image of a dataset. Creating a Sample reads no pixels; `image()` does.

    `id` is unique within its dataset and the same on every run (`fashion-mnist/test/00042`,
    `folder/cats/tom.jpg`); `source` says where the pixels are: a file, or `FILE::INDEX` for an
    image inside a file of many.
    """

    id: str
    split: str
    label: int | None
    label_name: str | None
    source: str
    payload: Mapping[str, Any] = field(default_factory=dict, hash=False)
    reader: Callable[[], ImageInput] | None = field(default=None, repr=False, compare=False, hash=False)

    def image(self, options: ReadOptions | None = None) -> Image.Image:
        """The pixels as an RGB image (see `embedkit.images`); ImageLoadError (naming id and source) when they
        cannot be read."""
        try:
            return load_image(self.reader() if self.reader is not None else self.source, options)
        except ImageLoadError as error:
            raise ImageLoadError(f"sample {self.id!r} ({self.source}): {error}") from error
        except (OSError, ValueError, SyntaxError) as error:
            raise ImageLoadError(f"sample {self.id!r} ({self.source}) is truncated or corrupt: {error}") from error


class SampleSource(Protocol):
    """A run of samples of one split, stored one way (files, an array on disk)."""

    split: str

    def __len__(self) -> int: ...

    def sample(self, index: int) -> Sample: ...

    def labels(self) -> Sequence[int | None]: ...


class DatasetView:
    """The samples of some splits of a dataset, in a fixed order: a map-style dataset for a torch DataLoader
    (`len` and indexing are all it takes; no torch base class, so that listing datasets imports no torch).

    It holds paths, labels and offsets, never pixels, so it pickles cheaply into DataLoader workers.
    `__getitem__` returns a `Sample` without decoding it.
    """

    def __init__(
        self,
        dataset_name: str,
        split: str | None,
        classes: Sequence[str],
        parts: Sequence[SampleSource],
        limit: int | None = None,
    ):
        self.dataset_name = dataset_name
        self.split = split
        self.classes = list(classes)
        self.parts = list(parts)
        self._ends: list[int] = []
        total = 0
        for part in self.parts:
            total += len(part)
            self._ends.append(total)
        self._length = total if limit is None else min(total, limit)
        self._content_hash: str | None = None

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> Sample:
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(f"index {index} out of range for a view of {self._length} samples")
        part = bisect.bisect_right(self._ends, index)
        start = self._ends[part - 1] if part else 0
        return self.parts[part].sample(index - start)

    def labels(self) -> list[int | None]:
        """The label of every sample, in order, without decoding anything."""
        found: list[int | None] = []
        for part in self.parts:
            found.extend(int(label) if label is not None else None for label in part.labels())
            if len(found) >= self._length:
                break
        return found[: self._length]

    def counts(self) -> dict[str, int]:
        """Samples per class name; unlabelled samples count under ''."""
        tally = Counter(self.labels())
        return {("" if label is None else self.classes[label]): tally[label]
                for label in sorted(tally, key=lambda label: -1 if label is None else label)}

    def content_hash(self) -> str:
        """A SHA-256 of the ids and labels of the view, in order: what was embedded, for provenance."""
        if self._content_hash is None:
            digest = hashlib.sha256()
            for index in range(self._length):
                sample = self[index]
                digest.update(f"{sample.id}\t{'' if sample.label is None else sample.label}\n".encode())
            self._content_hash = digest.hexdigest()
        return self._content_hash

    def __repr__(self) -> str:
        return f"<DatasetView {self.dataset_name} split={self.split or ALL} n={self._length}>"


class Dataset:
    """A named, labelled (or unlabelled) collection of images, split into `splits`.

    A subclass sets `name`, `classes` and `splits`, and implements `parts()` (every SampleSource,
    all splits) and `source_description()`. `notes` lists what was ignored or looked wrong while
    finding the data (non-image files, empty class folders), for the caller to show.
    """

    name: str = "unnamed"
    classes: list[str]
    splits: tuple[str, ...] = (ALL,)
    homepage: str = ""

    def __init__(self) -> None:
        self.classes = []
        self.notes: list[str] = []

    def parts(self) -> list[SampleSource]:
        raise NotImplementedError

    def source_description(self) -> str:
        raise NotImplementedError

    def identity(self) -> str:
        """What tells this dataset from another of the same name: a folder's or manifest's absolute path.
        A collection records the identities of the datasets it holds."""
        return self.name

    def view(self, split: str | None = None, limit: int | None = None) -> DatasetView:
        """The samples of `split` (all splits when None), the first `limit` of them when given."""
        if split is not None and split not in self.splits:
            raise InvalidOptionError(
                f"dataset {self.name} has no split {split!r}; use one of {', '.join(self.splits)}"
            )
        if limit is not None and limit < 0:
            raise InvalidOptionError(f"limit must be 0 or more, got {limit}")
        parts = [part for part in self.parts() if split is None or part.split == split]
        return DatasetView(self.name, split, self.classes, parts, limit)

    def counts(self) -> dict[str, dict[str, int]]:
        """Samples per class name for each split."""
        return {split: self.view(split).counts() for split in self.splits}

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} classes={len(self.classes)} splits={self.splits}>"
