"""A collection's stored vectors of one name, read into memory with the payload fields analysis needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedkit.errors import InvalidOptionError
from embedkit.progress import ProgressListener, tell
from embedkit.store import Store

NO_LABEL = -1
"""The label of a point stored without one, where unlabelled points are admitted."""


@dataclass
class LabelledVectors:
    ids: list[str]
    vectors: np.ndarray
    """(n, dim) float32, as stored (the store keeps them L2-normalised)."""
    labels: np.ndarray
    """(n,) int64; NO_LABEL for a point without a label."""
    label_names: dict[int, str]
    stored_in_split: int = 0
    """Points of the split in the store, before restricting to the benchmarked ids."""
    splits: list[str | None] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """Each point's `source` payload (a file, or an array file and index), for grids and thumbnails."""

    def subset(self, positions: np.ndarray) -> LabelledVectors:
        """The points at `positions`, in that order."""
        picked = [int(i) for i in positions]
        return LabelledVectors([self.ids[i] for i in picked], self.vectors[picked], self.labels[picked],
                               self.label_names, len(picked),
                               [self.splits[i] for i in picked] if self.splits else [],
                               [self.sources[i] for i in picked] if self.sources else [])

    def label_name(self, label: int) -> str:
        return self.label_names.get(int(label), "(none)" if label == NO_LABEL else str(label))


def stored_vectors(store: Store, collection: str, vector_name: str, split: str | None,
                   only: set[str] | None = None, require_labels: bool = True,
                   progress: ProgressListener | None = None) -> LabelledVectors:
    """The stored vectors of `split` (all splits for None), or of the sample ids in `only`, with their labels,
    in sample-id order (the store's scroll order is not the dataset's). `progress` hears the points read."""
    ids: list[str] = []
    chunks: list[np.ndarray] = []
    labels: list[int | None] = []
    splits: list[str | None] = []
    sources: list[str] = []
    names: dict[int, str] = {}
    in_split = read = 0
    total = store.count(collection, vector_name) if progress is not None else None
    for batch_ids, arrays, payloads in store.iter_points(collection, [vector_name]):
        read += len(batch_ids)
        tell(progress, "reading the stored vectors", read, max(read, total or 0), "points")
        in_split += sum(1 for p in payloads if split is None or p.get("split") == split)
        keep = [i for i, p in enumerate(payloads) if (split is None or p.get("split") == split)
                and (only is None or batch_ids[i] in only)]
        ids.extend(batch_ids[i] for i in keep)
        chunks.append(arrays[vector_name][keep])
        for i in keep:
            payload: dict[str, Any] = payloads[i]
            labels.append(_label(payload.get("label")))
            splits.append(payload.get("split"))
            sources.append(str(payload.get("source", "")))
            if labels[-1] is not None:
                names[labels[-1]] = str(payload.get("label_name", labels[-1]))
    where = f"{collection!r}/{vector_name!r}" + (f" split {split!r}" if split else "")
    if not ids:
        raise InvalidOptionError(f"no stored vectors in {where}; ingest the dataset first (or check --split)")
    unlabelled = [sample_id for sample_id, label in zip(ids, labels) if label is None]
    if unlabelled and require_labels:
        raise InvalidOptionError(
            f"{len(unlabelled)} samples in {where} have no label (e.g. {unlabelled[0]!r}); "
            f"this needs labels (relevant, or correct, means same label)"
        )
    vectors = np.concatenate(chunks).astype(np.float32, copy=False)
    norms = np.linalg.norm(vectors, axis=1)
    bad = np.flatnonzero(~np.isfinite(norms) | (norms < 1e-6))
    if len(bad):
        raise InvalidOptionError(
            f"{len(bad)} stored vectors in {where} are zero or NaN (e.g. {ids[bad[0]]!r}); "
            f"re-ingest them (drop the collection or use another) before analysing them"
        )
    order = np.argsort(ids, kind="stable")
    label_array = np.asarray([NO_LABEL if label is None else label for label in labels], dtype=np.int64)
    return LabelledVectors([ids[i] for i in order], vectors[order], label_array[order], names, in_split,
                           [splits[i] for i in order], [sources[i] for i in order])


def _label(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
