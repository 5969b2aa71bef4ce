"""Each stored point's nearest other points, asked of the store's index in batches (no N x N matrix)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from embedkit.analysis.vectors import LabelledVectors
from embedkit.machine import cores_available
from embedkit.progress import ProgressListener, tell
from embedkit.store import Store
from embedkit.store.points import Hit

QUERY_BATCH = 256
"""Points per batch query of the index (as duplicates asks it)."""


def stored_neighbours(store: Store, collection: str, vector_name: str, points: LabelledVectors, k: int,
                      split: str | None, progress: ProgressListener | None,
                      threads: int | None = None) -> Iterator[tuple[int, list[Hit]]]:
    """(n, hits) for each point n of `points`, in order: the k + 1 nearest points of `split` (None: all) under
    `vector_name`, best first, without point n itself (so k of them, or k + 1 when the index did not return the
    point). The hits carry only their sample id. Batches run on `threads` threads (None: one per available core;
    the embedded store searches outside Python's lock)."""
    filter = {"split": split} if split is not None else None
    total = len(points.ids)
    starts = range(0, total, QUERY_BATCH)

    def batch(start: int) -> list[list[Hit]]:
        return store.search_batch(collection, vector_name, points.vectors[start : start + QUERY_BATCH], k + 1,
                                  filter=filter, fields=())

    workers = max(1, min(threads or cores_available(), len(starts)))
    with ThreadPoolExecutor(workers, thread_name_prefix="neighbours") as pool:
        ahead = 2 * workers  # batches asked for before they are read: enough to keep each thread busy, memory flat
        pending = deque(pool.submit(batch, start) for start in starts[:ahead])
        for number, start in enumerate(starts):
            found = pending.popleft().result()
            if number + ahead < len(starts):
                pending.append(pool.submit(batch, starts[number + ahead]))
            for n, hits in enumerate(found, start=start):
                yield n, [hit for hit in hits if hit.sample_id != points.ids[n]]
            tell(progress, "neighbours", min(total, start + QUERY_BATCH), total, "points")
