"""Each stored point's nearest other points, asked of the store's index in batches (no N x N matrix)."""

from __future__ import annotations

from collections.abc import Iterator

from embedkit.analysis.vectors import LabelledVectors
from embedkit.progress import ProgressListener, tell
from embedkit.store import Store
from embedkit.store.points import Hit

QUERY_BATCH = 256
"""Points per batch query of the index (as duplicates asks it)."""


def stored_neighbours(store: Store, collection: str, vector_name: str, points: LabelledVectors, k: int,
                      split: str | None, progress: ProgressListener | None) -> Iterator[tuple[int, list[Hit]]]:
    """(n, hits) for each point n of `points`, in order: the k + 1 nearest points of `split` (None: all) under
    `vector_name`, best first, without point n itself (so k of them, or k + 1 when the index did not return the
    point). The hits carry only their sample id."""
    filter = {"split": split} if split is not None else None
    total = len(points.ids)
    for start in range(0, total, QUERY_BATCH):
        stop = min(total, start + QUERY_BATCH)
        found = store.search_batch(collection, vector_name, points.vectors[start:stop], k + 1, filter=filter,
                                   fields=())
        for n, hits in enumerate(found, start=start):
            yield n, [hit for hit in hits if hit.sample_id != points.ids[n]]
        tell(progress, "neighbours", stop, total, "points")
