"""Points by their Qdrant ids and Qdrant filters, as another Qdrant client reads them: retrieve, scroll, count,
facet, nearest and recommend, with offsets and score thresholds. The metadata point is never among them.

Built once on a backend's primitives, for every backend; `filter` is a qdrant_client `models.Filter` (or None)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from embedkit.errors import InvalidOptionError, SampleNotFoundError
from embedkit.store import schema
from embedkit.store.backend import ID_CHUNK
from embedkit.store.payloads import Payloads
from embedkit.store.points import Conditions, PointRecord, ScoredRecord


class PointAccess(Payloads):
    """Reading points by Qdrant id and filter, through a backend's primitives (it declares none)."""

    def vector_sizes(self, collection: str) -> dict[str, int]:
        """The size of each named vector of `collection`; empty when the collection does not exist."""
        return self._vector_dims(collection) if self._has_collection(collection) else {}

    def retrieve_points(self, collection: str, ids: Sequence[Any], *, with_payload: bool = True,
                        vectors: Sequence[str] = ()) -> list[PointRecord]:
        """The points among `ids` that exist, in the order of `ids`, with their payload and these named vectors."""
        wanted = [_point_id(i) for i in ids if _point_id(i) != schema.METADATA_POINT_ID]
        found: dict[str, PointRecord] = {}
        for start in range(0, len(wanted), ID_CHUNK):
            chunk = list(dict.fromkeys(wanted[start : start + ID_CHUNK]))
            found.update((str(r.id), r) for r in self._retrieve(collection, chunk, with_payload, list(vectors)))
        return [found[str(i)] for i in dict.fromkeys(wanted) if str(i) in found]

    def scroll_points(self, collection: str, *, filter: Any = None, limit: int = 10, offset: Any = None,
                      with_payload: bool = True, vectors: Sequence[str] = ()) -> tuple[list[PointRecord], Any]:
        """Up to `limit` points matching `filter` from point id `offset` on, in id order, and the id the next page
        starts from (None: no more)."""
        offset = None if offset is None else _point_id(offset)
        found, after = self._scroll(collection, Conditions(filter=filter), list(vectors), with_payload, int(limit), offset)
        return found, None if after is None else _point_id(after)

    def count_points(self, collection: str, filter: Any = None) -> int:
        """How many points match `filter` (all of them when None), exactly."""
        return self._count(collection, Conditions(filter=filter))

    def facet_points(self, collection: str, key: str, *, limit: int = 10, filter: Any = None) -> list[tuple[Any, int]]:
        """The `limit` most frequent values of the indexed payload field `key` among the points matching `filter`."""
        if key not in self.indexed_fields(collection):
            raise InvalidOptionError(f"payload field {key!r} of collection {collection!r} has no payload index; "
                                     f"facets need one (embedkit collections index {collection} {key})")
        return self._facet(collection, key, int(limit), Conditions(filter=filter))

    def nearest_points(self, collection: str, vector_name: str, vector: np.ndarray, *, limit: int = 10,
                       offset: int = 0, filter: Any = None, score_threshold: float | None = None, exact: bool = False,
                       exclude_ids: Sequence[Any] = ()) -> list[ScoredRecord]:
        """The points nearest to `vector` under `vector_name` that match `filter`, best first, from the `offset`-th
        on, scoring `score_threshold` or more."""
        query = self._query_vector(collection, vector_name, vector)
        conditions = Conditions(filter=filter, exclude_ids=[_point_id(i) for i in exclude_ids])
        k = int(offset) + int(limit)
        found = self._query_batch(collection, vector_name, query[None, :], k, conditions, exact, score_threshold)[0]
        return found[int(offset):]

    def recommend_points(self, collection: str, vector_name: str, positive: np.ndarray, negative: np.ndarray, *,
                         limit: int = 10, offset: int = 0, filter: Any = None, score_threshold: float | None = None,
                         exclude_ids: Sequence[Any] = ()) -> list[ScoredRecord]:
        """Qdrant's recommend query, best-score strategy, with these example vectors (rows)."""
        if not len(positive):
            raise InvalidOptionError("a best_score recommendation needs at least one positive example")
        dim = self._checked_dim(collection, vector_name)
        positive, negative = (np.asarray(v, dtype=np.float32).reshape(-1, dim) for v in (positive, negative))
        conditions = Conditions(filter=filter, exclude_ids=[_point_id(i) for i in exclude_ids])
        found = self._recommend(collection, vector_name, positive, negative, int(offset) + int(limit), conditions)
        kept = found[int(offset):]
        return kept if score_threshold is None else [r for r in kept if r.score >= score_threshold]

    def point_vectors(self, collection: str, vector_name: str, ids: Sequence[Any]) -> np.ndarray:
        """The `vector_name` vectors of the points `ids`, in order; SampleNotFoundError names an id without one."""
        dim = self._checked_dim(collection, vector_name)
        records = {str(r.id): r for r in self.retrieve_points(collection, ids, with_payload=False, vectors=[vector_name])}
        rows = []
        for point_id in ids:
            record = records.get(str(_point_id(point_id)))
            if record is None or record.vectors.get(vector_name) is None:
                raise SampleNotFoundError(f"no point {point_id} with vector {vector_name!r} in collection "
                                          f"{collection!r}")
            rows.append(record.vectors[vector_name])
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), dim)

    def _query_vector(self, collection: str, vector_name: str, vector: Any) -> np.ndarray:
        dim = self._checked_dim(collection, vector_name)
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        schema.check_query_dim(collection, vector_name, dim, query.shape[0])
        return query


def _point_id(point_id: Any) -> Any:
    """A point id as the backends take it: an unsigned integer, or a UUID's canonical string."""
    if isinstance(point_id, int) and not isinstance(point_id, bool):
        return point_id
    text = str(point_id)
    try:
        return str(uuid.UUID(text))
    except ValueError as error:
        raise InvalidOptionError(f"point id {text!r} is neither an unsigned integer nor a UUID") from error
