"""What a collection already holds, and whether it is still current: the samples an ingest run must embed
(missing, or their file changed since), files touched but unchanged, samples gone from the dataset, and
whether the collection holds this dataset at all."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from embedkit.datasets import Dataset, DatasetView, Sample
from embedkit.errors import InvalidOptionError
from embedkit.store import Store

ID_CHECK_CHUNK = 4096
CONTENT_FIELD = "content"
"""Payload field with the size, mtime and hash of a sample's file when it was embedded."""


def content_stamp(source: str) -> str | None:
    """Size, modification time and a hash of a sample's file: what tells an edited file from the one embedded
    (`SIZE-MTIME_NS-SHA256[:16]`). None when the sample is not a file (an image inside an array file)."""
    quick = quick_stamp(source)
    if quick is None:
        return None
    try:
        with open(source, "rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()[:16]
    except OSError:
        return None
    return f"{quick}-{digest}"


def quick_stamp(source: str) -> str | None:
    """Size and modification time of a file, without reading it."""
    try:
        stat = os.stat(source)
    except (OSError, ValueError):
        return None
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def file_unchanged(recorded: str, source: str) -> tuple[bool, str | None]:
    """Whether a file is the one whose stamp was recorded, and its new stamp when only its size-and-time part
    moved (a `touch`, a copy): then the content hash decides, and the stamp is worth refreshing."""
    quick = quick_stamp(source)
    if quick is None or recorded == quick or recorded.startswith(f"{quick}-"):
        return True, None  # unreadable now: not taken for changed, its vectors stay
    if recorded.count("-") < 2:  # stamped by embedkit 0.2.0, without a hash
        return False, None
    current = content_stamp(source)
    if current is None:
        return True, None
    if current.rsplit("-", 1)[1] == recorded.rsplit("-", 1)[1]:
        return True, current
    return False, None


@dataclass
class Todo:
    """What a run has to do: the view's indices to encode, the sample ids among them whose other vectors are
    stale, and the new stamps of files touched but not changed."""

    indices: list[int] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    restamped: dict[str, str] = field(default_factory=dict)


def samples_to_encode(view: DatasetView, store: Store, collection: str, vector_name: str,
                      stamp_field: str = CONTENT_FIELD, stamp: Callable[[Sample], str | None] | None = None,
                      ) -> Todo:
    """Samples without this vector in the store, and samples whose content changed since any vector of their
    point was made (those vectors are stale). A file that cannot be read now is not taken for changed. Files
    are compared by their recorded stamp (`content_stamp`); `stamp` replaces it (texts are hashed)."""
    todo = Todo()
    for start in range(0, len(view), ID_CHECK_CHUNK):
        indices = range(start, min(start + ID_CHECK_CHUNK, len(view)))
        samples = [view[i] for i in indices]
        missing = set(store.missing_ids(collection, vector_name, [sample.id for sample in samples]))
        stored = store.payload_values(collection, [sample.id for sample in samples], stamp_field)
        for index, sample in zip(indices, samples):
            recorded = stored.get(sample.id)
            if recorded is not None:
                if stamp is None:
                    unchanged, restamp = file_unchanged(str(recorded), sample.source)
                else:
                    current = stamp(sample)
                    unchanged, restamp = current is None or current == recorded, None
                if restamp is not None:
                    todo.restamped[sample.id] = restamp
                if not unchanged:
                    todo.indices.append(index)
                    todo.changed.append(sample.id)
                    continue
            if sample.id in missing:
                todo.indices.append(index)
    return todo


def text_stamp(text_field: str) -> Callable[[Sample], str | None]:
    """What tells an edited text from the one embedded: a hash of it."""
    def stamp(sample: Sample) -> str | None:
        text = sample.payload.get(text_field)
        return hashlib.sha256(text.encode()).hexdigest()[:16] if isinstance(text, str) else None

    return stamp


def prune(view: DatasetView, store: Store, collection: str, vector_name: str) -> int:
    """Delete the points of this view's dataset (and split) whose samples the dataset no longer has."""
    wanted = {view[i].id for i in range(len(view))}
    scope = {"dataset": view.dataset_name, **({} if view.split is None else {"split": view.split})}
    gone = [sample_id for sample_id in store.stored_ids(collection, vector_name, scope) if sample_id not in wanted]
    return store.delete(collection, gone) if gone else 0


def check_dataset(store: Store, collection: str, data: Dataset, view: DatasetView, add_dataset: bool) -> None:
    """Refuse to mix another dataset into a collection (class indexes would mix, equal ids replace each other),
    unless `add_dataset`. A collection made before datasets were recorded is judged by its points' payloads."""
    if add_dataset:
        return
    held = store.datasets(collection)
    if held:
        if data.identity() in held:
            return
        holds = ", ".join(held)
    else:
        points = store.count(collection)
        if not points or store.count_matching(collection, filter={"dataset": view.dataset_name}) == points:
            return
        holds = "points of another dataset"
    raise InvalidOptionError(
        f"collection {collection!r} holds {holds}, not {data.identity()}; their class indexes would mix and "
        f"samples with the same id replace each other: ingest into another --collection, or pass --add-dataset "
        f"to add it all the same"
    )
