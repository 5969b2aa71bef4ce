"""Writes by Qdrant point id and filter, as another Qdrant client makes them, kept to what embedkit's records allow:
every point is a sample (its id is `point_id` of its payload's `sample_id`), its vectors are the collection's
recorded ones at their sizes, and the metadata point is embedkit's alone. A write that breaks one of these is
refused whole, before anything is written."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedkit.errors import InvalidOptionError, SampleNotFoundError
from embedkit.store import schema
from embedkit.store.backend import ID_CHUNK
from embedkit.store.field_writes import FieldWrites
from embedkit.store.point_access import PointAccess, _point_id
from embedkit.store.points import Conditions

SAMPLE_ID = "sample_id"


class RefusedWriteError(InvalidOptionError):
    """A write that would break embedkit's records of a collection; nothing of it was written."""


@dataclass
class NewPoint:
    """A point to write: its id, its vectors by name (lists of floats), its payload."""

    id: Any
    vectors: dict[str, Any]
    payload: dict[str, Any] = field(default_factory=dict)


class PointWrites(PointAccess, FieldWrites):
    """Writing points by Qdrant id and filter, through the store's own writes (it declares no primitive). A payload
    write over more than one point records its fields as being written until it ends (`writing_fields`)."""

    def write_points(self, collection: str, points: Sequence[NewPoint]) -> None:
        """Write `points`: each vector set, the payload merged into the point's (as ingest writes)."""
        self.check_writable(f"write points to collection {collection!r}")
        sizes = self._existing(collection)
        samples = [self._checked_point(collection, point, sizes) for point in points]
        for name in sizes:
            having = [(sample, point) for sample, point in zip(samples, points) if name in point.vectors]
            if having:
                vectors = np.asarray([point.vectors[name] for _, point in having], dtype=np.float32)
                self.upsert(collection, name, [sample for sample, _ in having], vectors,
                            [point.payload for _, point in having])

    def delete_points(self, collection: str, *, ids: Sequence[Any] | None = None, filter: Any = None) -> int:
        """Delete the points `ids` (those that exist), or those matching `filter`; returns how many."""
        self.check_writable(f"delete points of collection {collection!r}")
        self._existing(collection)
        return self._delete_selected(collection, self._selected(ids, filter))

    def set_points_payload(self, collection: str, payload: dict[str, Any], *, ids: Sequence[Any] | None = None,
                           filter: Any = None, overwrite: bool = False) -> None:
        """Merge `payload` into the payloads of the points `ids` (each must exist) or of those matching `filter`;
        `overwrite` replaces their payloads instead (each keeps its `sample_id`)."""
        self.check_writable(f"change payloads in collection {collection!r}")
        self._existing(collection)
        if SAMPLE_ID in payload:
            raise RefusedWriteError(f"payload field {SAMPLE_ID!r} names the sample a point is (its id derives from "
                                    f"it) and cannot be set; write the point again under its own id instead")
        targets = self._targets(collection, ids, filter)
        dropped = {point_id: [key for key in old if key not in payload and key != SAMPLE_ID] if overwrite else []
                   for point_id, old in targets}
        fields = set(payload).union(*dropped.values())
        with self._recorded(collection, fields, len(targets), "overwrite_payload" if overwrite else "set_payload"):
            for point_id, keys in dropped.items():
                if keys:
                    self._delete_payload(collection, [point_id], keys)
            if targets and payload:
                self._set_payloads(collection, [(point_id, payload) for point_id, _ in targets])
        self.flush()

    def delete_points_payload(self, collection: str, keys: Sequence[str], *, ids: Sequence[Any] | None = None,
                              filter: Any = None) -> None:
        """Remove payload `keys` from the points `ids` (each must exist) or from those matching `filter`."""
        self.check_writable(f"change payloads in collection {collection!r}")
        self._existing(collection)
        if SAMPLE_ID in keys:
            raise RefusedWriteError(f"payload field {SAMPLE_ID!r} names the sample a point is and cannot be removed; "
                                    f"delete the point instead")
        targets = [point_id for point_id, _ in self._targets(collection, ids, filter)]
        with self._recorded(collection, set(keys), len(targets), "delete_payload"):
            for start in range(0, len(targets), ID_CHUNK) if keys else ():
                self._delete_payload(collection, targets[start : start + ID_CHUNK], list(keys))
        self.flush()

    @contextmanager
    def _recorded(self, collection: str, fields: set[str], points: int, operation: str) -> Iterator[None]:
        """A payload write of more than one point, recorded as writing `fields` until it ends: a process killed
        half-way leaves the record, and readers say the fields are half-written."""
        command = f"Qdrant API {operation} on collection {collection} with the same points or filter"
        with self.writing_fields(collection, sorted(fields), command) if points > 1 and fields else nullcontext():
            yield

    def _delete_selected(self, collection: str, selection: Sequence[Conditions]) -> int:
        """Delete the points each of `selection` matches, record the new counts; returns how many were deleted."""
        deleted = 0
        for conditions in selection:
            matching = self._count(collection, conditions)
            if matching:
                self._delete(collection, conditions)
                deleted += matching
        if deleted:
            self.record_counts(collection)
        self.flush()
        return deleted

    # ---- checks ------------------------------------------------------------------------------
    def _existing(self, collection: str) -> dict[str, int]:
        sizes = self.vector_sizes(collection)
        if not sizes:
            raise SampleNotFoundError(f"collection {collection!r} does not exist in {self.location}")
        return sizes

    def _checked_point(self, collection: str, point: NewPoint, sizes: dict[str, int]) -> str:
        """The sample id of `point`, after checking that writing it keeps the collection's records."""
        given = _point_id(point.id)
        if given == schema.METADATA_POINT_ID:
            raise RefusedWriteError(f"point {given} is embedkit's metadata point of {collection!r} and cannot be "
                                    f"written through this API")
        if not isinstance(point.vectors, dict) or not point.vectors:
            raise RefusedWriteError(f"point {given} has no named vector; collection {collection!r} has "
                                    f"{', '.join(sorted(sizes))}: give one or more of them by name")
        for name, vector in point.vectors.items():
            if name not in sizes:
                raise RefusedWriteError(f"collection {collection!r} has no vector {name!r} (it has: "
                                        f"{', '.join(sorted(sizes))}); write vectors under those names")
            if not isinstance(vector, (list, tuple)) or not all(isinstance(v, (int, float)) for v in vector):
                raise RefusedWriteError(f"vector {name!r} of point {given} is not a dense vector (a list of numbers)")
            if len(vector) != sizes[name]:
                raise RefusedWriteError(f"vector {name!r} of collection {collection!r} has size {sizes[name]}, but "
                                        f"point {given} gives one of size {len(vector)}")
        sample = (point.payload or {}).get(SAMPLE_ID)
        if not isinstance(sample, str) or not sample:
            raise RefusedWriteError(f"point {given} has no payload field {SAMPLE_ID!r}: every point of an embedkit "
                                    f"collection is a sample; give its sample id there, and as the point id the "
                                    f"UUID5 of it in namespace {schema.SAMPLE_NAMESPACE}")
        if schema.point_id(sample) != given:
            raise RefusedWriteError(f"point {given} has sample_id {sample!r}, whose point id is "
                                    f"{schema.point_id(sample)} (UUID5 in namespace {schema.SAMPLE_NAMESPACE}); "
                                    f"write it under that id")
        return sample

    def _selected(self, ids: Sequence[Any] | None, filter: Any) -> list[Conditions]:
        if ids is None:
            return [Conditions(filter=filter)]
        wanted = list(dict.fromkeys(_point_id(i) for i in ids))
        if schema.METADATA_POINT_ID in wanted:
            raise RefusedWriteError(f"point {schema.METADATA_POINT_ID} is embedkit's metadata point and cannot be "
                                    f"changed through this API")
        return [Conditions(ids=wanted[start : start + ID_CHUNK]) for start in range(0, len(wanted), ID_CHUNK)]

    def _targets(self, collection: str, ids: Sequence[Any] | None, filter: Any) -> list[tuple[Any, dict[str, Any]]]:
        """(id, payload) of the points `ids`, each of which must exist, or of every point matching `filter`."""
        if (ids is None) == (filter is None):
            raise InvalidOptionError("select the points by ids or by a filter, one of the two")
        found: list[tuple[Any, dict[str, Any]]] = []
        for conditions in self._selected(ids, filter):
            offset = None
            while True:
                records, offset = self._scroll(collection, conditions, [], True, ID_CHUNK, offset)
                found += [(r.id, r.payload) for r in records]
                if offset is None:
                    break
        if ids is not None:
            missing = {str(i) for i in (_point_id(i) for i in ids)} - {str(point_id) for point_id, _ in found}
            if missing:
                raise SampleNotFoundError(f"no point with id {sorted(missing)[0]} in collection {collection!r}")
        return found
