"""Copy a collection from one store (usually the embedded one) to another (usually a Qdrant server)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from embedkit.errors import EmbedkitError, InvalidOptionError, StoreUnavailableError, first_line
from embedkit.progress import ProgressListener, tell
from embedkit.records import VectorRecord
from embedkit.store.base import Store
from embedkit.store.urls import redacted

log = logging.getLogger(__name__)


def _with_retries(action: Callable[[], None], attempts: int, what: str) -> None:
    for attempt in range(1, attempts + 1):
        try:
            action()
            return
        except EmbedkitError as error:
            if attempt == attempts:
                raise StoreUnavailableError(f"{what} failed {attempts} times ({first_line(error)}); re-run push to "
                                            f"resume") from error
            log.warning("%s failed (%s); retry %d of %d", what, first_line(error), attempt, attempts - 1)
            time.sleep(min(2.0 ** attempt, 10.0))


def push(source: Store, target: Store, collection: str, *, target_collection: str | None = None,
         batch_size: int = 256, attempts: int = 3, progress: ProgressListener | None = None) -> dict[str, int]:
    """Copy every named vector of `collection`, with payloads and recorded encoders, in batches with retries.

    Re-running resumes: points are upserted under the same ids, so nothing is duplicated. A target that does not
    index by itself (the embedded store) builds its index at the end, as ingest does, so that the copy is not
    left flagged "index unfinished". `progress` hears the points copied of each vector.
    Returns the number of points copied per vector name.
    """
    infos = [info for info in source.collections() if info.name == collection]
    if not infos:
        raise InvalidOptionError(f"collection {collection!r} does not exist in {redacted(source.location)}")
    name = target_collection or collection
    shown = redacted(target.location)
    copied: dict[str, int] = {}
    for vector_name, summary in infos[0].vectors.items():
        target.ensure_vector(name, vector_name, summary.record or VectorRecord(vector_name, int(summary.dim or 0)))
        copied[vector_name] = 0
        tell(progress, vector_name, 0, summary.points, "points")
        for ids, arrays, payloads in source.iter_points(collection, [vector_name], batch_size=batch_size):
            clean = [{k: v for k, v in p.items() if k != "sample_id"} for p in payloads]
            _with_retries(lambda: target.upsert(name, vector_name, ids, arrays[vector_name], clean),
                          attempts, f"uploading {len(ids)} points of {vector_name!r} to {shown}")
            copied[vector_name] += len(ids)
            tell(progress, vector_name, copied[vector_name], summary.points, "points")
    for dataset in source.datasets(collection):
        target.add_dataset(name, dataset)
    for field, kind in source.indexed_fields(collection).items():  # a cluster field stays filterable there too
        target.index_field(name, field, kind)
    default = source.default_vector(collection)
    if default is not None:
        target.set_default_vector(name, default)
    if not target.capabilities.builds_index_itself:  # the embedded store indexes when asked, as ingest asks it
        target.optimize(name)
    target.flush()
    return copied
