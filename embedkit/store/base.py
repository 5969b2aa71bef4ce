"""The Store interface: sample vectors under named vectors in Qdrant collections, the same on every backend.

A backend implements the primitives of `StoreBackend` (embedkit/store/backend.py); the public methods are
implemented once on them: the vectors, the schema checks and search here, the metadata point (metadata.py),
payloads (payloads.py), payload fields being written (field_writes.py), points by Qdrant id and filter
(point_access.py, point_writes.py) and bulk loads (bulk_load.py) in the classes `Store` joins.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from embedkit.errors import (EmbedkitError, InvalidOptionError, SampleNotFoundError, SchemaMismatchError,
                             StoreBackendError, StoreFullError, StoreWriteError, first_line)
from embedkit.records import VectorRecord
from embedkit.store import schema
from embedkit.store.backend import ID_CHUNK
from embedkit.store.bulk_load import BulkLoad
from embedkit.store.collection_vector import CollectionVector, find_vector
from embedkit.store.field_writes import FieldWrites
from embedkit.store.point_writes import PointWrites
from embedkit.store.points import CollectionInfo, Conditions, Hit, ScoredRecord, VectorSummary

log = logging.getLogger(__name__)


class Store(PointWrites, BulkLoad, FieldWrites):
    """Vectors of samples, under one named vector per encoder, in one collection per dataset."""

    # ---- schema ----------------------------------------------------------------------------
    def ensure_vector(self, collection: str, vector_name: str, record: VectorRecord) -> None:
        """Create the collection and/or the named vector (cosine), recording what fills it.

        Raises SchemaMismatchError, before anything is written, when the name holds vectors of another
        record (a field that changes the vectors differs) or dim; fields that do not change them may differ.
        """
        self.check_writable(f"add vector {vector_name!r} to collection {collection!r}")
        schema.check_collection_name(collection)
        schema.check_vector_name(vector_name)
        dim = int(record.dim)
        if dim < 1:
            raise InvalidOptionError(f"vector dim must be positive, got {dim}")
        if not self._has_collection(collection):
            self._create_collection(collection, vector_name, dim)
            self._write_metadata(collection, {"schema_version": schema.SCHEMA_VERSION, "default_vector": vector_name,
                                              "vectors": {vector_name: schema.record_document(record)}})
            log.info("created collection %s with vector %s (dim %d)", collection, vector_name, dim)
            return
        if self.collection_options is not None:
            log.info("collection %s exists: it keeps its layout, the collection options are not applied", collection)
        for problem in self.count_problems(collection):
            log.warning(problem)
        metadata = self._read_metadata(collection)
        dims = self._vector_dims(collection)
        stored = metadata["vectors"].get(vector_name)
        if stored is not None:
            stored_record = schema.stored_record(stored)
            if stored_record.differences(record):
                raise schema.mismatch_error(collection, vector_name, stored_record, record)
            if vector_name in dims:
                return
        elif vector_name in dims and dims[vector_name] != dim:
            raise SchemaMismatchError(
                f"collection {collection!r} already has vector {vector_name!r} with dim {dims[vector_name]} "
                f"(not recorded by embedkit), but dim {dim} was given; use another vector name"
            )
        if vector_name not in dims:
            self._add_vector(collection, vector_name, dim)
            log.info("added vector %s (dim %d) to collection %s", vector_name, dim, collection)
        metadata["vectors"][vector_name] = schema.record_document(record)
        metadata["schema_version"] = schema.SCHEMA_VERSION
        self._write_metadata(collection, metadata)

    def vector_names(self, collection: str) -> list[str]:
        """The named vectors of a collection, sorted; empty when the collection does not exist."""
        return sorted(self._vector_dims(collection)) if self._has_collection(collection) else []

    def vector(self, collection: str, encoder: str | None = None, *, embeds: str | None = None) -> CollectionVector:
        """The vector of `collection` that `encoder` names (a vector or encoder name, an alias; None: the only or
        default one, among those whose encoder embeds `embeds`), with the record of what made it."""
        return find_vector(self, collection, encoder, embeds=embeds)

    # ---- writing ---------------------------------------------------------------------------
    def missing_ids(self, collection: str, vector_name: str, sample_ids: Sequence[str]) -> list[str]:
        """The sample ids that do not have this vector yet, in input order."""
        if not sample_ids:
            return []
        if not self._has_collection(collection) or vector_name not in self._vector_dims(collection):
            return list(sample_ids)
        present: set[str] = set()
        ids = [schema.point_id(s) for s in sample_ids]
        for start in range(0, len(ids), ID_CHUNK):
            chunk = list(dict.fromkeys(ids[start : start + ID_CHUNK]))
            conditions = Conditions(has_vectors=[vector_name], ids=chunk)
            records, _ = self._scroll(collection, conditions, [], False, len(chunk), None)
            present.update(r.id for r in records)
        return [s for s, pid in zip(sample_ids, ids) if pid not in present]

    def upsert(
        self,
        collection: str,
        vector_name: str,
        sample_ids: Sequence[str],
        vectors: np.ndarray,
        payloads: Sequence[dict[str, Any]],
    ) -> None:
        """Store vectors under `vector_name`; a point keeps its other named vectors, and its payload is merged."""
        self.check_writable(f"write vectors to collection {collection!r}")
        dim = self._checked_dim(collection, vector_name)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != dim:
            raise SchemaMismatchError(
                f"vector {vector_name!r} of collection {collection!r} has dim {dim}, "
                f"but vectors of shape {vectors.shape} were given"
            )
        if not (len(sample_ids) == len(vectors) == len(payloads)):
            raise InvalidOptionError(
                f"upsert needs as many sample ids, vectors and payloads; got {len(sample_ids)}, "
                f"{len(vectors)} and {len(payloads)}"
            )
        if not len(sample_ids):
            return
        ids = [schema.point_id(s) for s in sample_ids]
        full = [{**p, "sample_id": str(s)} for s, p in zip(sample_ids, payloads)]
        try:
            self._note_index(collection, unfinished=True)
            existing = {r.id: r.payload for r in self._retrieve(collection, list(dict.fromkeys(ids)), True, [])}
            new = [i for i, pid in enumerate(ids) if pid not in existing]
            old = [i for i, pid in enumerate(ids) if pid in existing]
            if new:
                self._upsert(collection, vector_name, [ids[i] for i in new], vectors[new], [full[i] for i in new])
            if old:
                self._update_vectors(collection, vector_name, [ids[i] for i in old], vectors[old])
                changed = [
                    (ids[i], full[i])
                    for i in old
                    if any(existing[ids[i]].get(k) != v for k, v in full[i].items())
                ]
                if changed:
                    self._set_payloads(collection, changed)
        except Exception as error:  # StoreBackendError from the backend's library, or the backend's embedkit errors
            if _passes_through(error):
                raise
            raise self._write_error(collection, vector_name, len(ids), error) from _cause(error)

    def drop(self, collection: str) -> None:
        """Delete a collection and everything in it."""
        self.check_writable(f"drop collection {collection!r}")
        if not self._has_collection(collection):
            raise InvalidOptionError(f"collection {collection!r} does not exist in {self.location}")
        self._drop(collection)

    def delete(
        self, collection: str, sample_ids: Sequence[str] | None = None, *, filter: dict[str, Any] | None = None
    ) -> int:
        """Delete whole points (all their named vectors and their payload) by sample id or by payload filter.

        Returns how many points were deleted: unknown sample ids are not counted. The metadata point stays.
        """
        self.check_writable(f"delete points of collection {collection!r}")
        selection = self._selection(collection, sample_ids, filter)
        try:
            deleted = self._delete_selected(collection, selection)
        except Exception as error:  # StoreBackendError from the backend's library, or the backend's embedkit errors
            if _passes_through(error):
                raise
            left = _count_after_failure(lambda: self.count_matching(collection, sample_ids, filter=filter))
            raise _failed_write(f"deleting points of {collection!r}", error, f"{left} matching points are left; fix "
                                f"the cause and run the same delete again to remove them") from _cause(error)
        log.info("deleted %d points of collection %s", deleted, collection)
        return deleted

    def _selection(
        self, collection: str, sample_ids: Sequence[str] | None, filter: dict[str, Any] | None
    ) -> list[Conditions]:
        """The conditions, in chunks of ID_CHUNK ids, of the points that `delete` with these arguments removes."""
        if (sample_ids is None) == (filter is None):
            raise InvalidOptionError(
                "delete takes either sample ids (--id ID) or a payload filter (--filter FIELD=VALUE)"
                + (", not both; delete in two steps" if filter is not None else "; pass one of them")
            )
        if filter is not None and not schema.check_filter(filter):
            raise InvalidOptionError(
                f"an empty filter would delete every point of {collection!r}; to empty a collection, drop it "
                f"(`embedkit collections drop {collection}`)"
            )
        if isinstance(sample_ids, str):
            raise InvalidOptionError(f"sample ids must be a list; pass [{sample_ids!r}] to delete one point")
        if not self._has_collection(collection):
            raise InvalidOptionError(
                f"collection {collection!r} does not exist in {self.location}; `embedkit collections` lists them"
            )
        if sample_ids is None:
            return [Conditions(match=schema.check_filter(filter))]
        ids = list(dict.fromkeys(schema.point_id(s) for s in sample_ids))
        return [Conditions(ids=ids[start : start + ID_CHUNK]) for start in range(0, len(ids), ID_CHUNK)]

    # ---- reading ---------------------------------------------------------------------------
    def search(
        self,
        collection: str,
        vector_name: str,
        vector: np.ndarray,
        k: int,
        filter: dict[str, Any] | None = None,
        exact: bool = False,
    ) -> list[Hit]:
        """The k points nearest to `vector` (cosine), best first."""
        dim = self._checked_dim(collection, vector_name)
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        schema.check_query_dim(collection, vector_name, dim, query.shape[0])
        conditions = Conditions(match=schema.check_filter(filter))
        scored = self._query(collection, vector_name, query, k, conditions, exact)
        return [_hit(r) for r in scored]

    def search_batch(self, collection: str, vector_name: str, vectors: np.ndarray, k: int,
                     filter: dict[str, Any] | None = None, score_threshold: float | None = None,
                     fields: Sequence[str] | None = None) -> list[list[Hit]]:
        """`search` for each row of `vectors` as one batch, keeping hits that score `score_threshold` or more; the
        hits' payloads hold only `fields` and the sample id when `fields` is given (less to read and copy)."""
        dim = self._checked_dim(collection, vector_name)
        queries = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1 if len(vectors) else dim)
        schema.check_query_dim(collection, vector_name, dim, queries.shape[1])
        conditions = Conditions(match=schema.check_filter(filter))
        selected = None if fields is None else list(dict.fromkeys(["sample_id", *fields]))
        batches = self._query_batch(collection, vector_name, queries, k, conditions, False, score_threshold, selected)
        return [[_hit(r) for r in scored] for scored in batches]

    def recommend(self, collection: str, vector_name: str, positive: Sequence[str], negative: Sequence[str] = (),
                  k: int = 10, filter: dict[str, Any] | None = None) -> list[Hit]:
        """Qdrant's recommend query (best-score strategy) with examples given by sample id; the examples are excluded."""
        if not positive:
            raise InvalidOptionError("recommend needs at least one positive example (--like ID)")
        self._checked_dim(collection, vector_name)
        pos = self.get_vectors(collection, vector_name, positive)
        neg = self.get_vectors(collection, vector_name, negative) if negative else pos[:0]
        examples = [schema.point_id(s) for s in [*positive, *negative]]
        conditions = Conditions(match=schema.check_filter(filter), exclude_ids=examples)
        scored = self._recommend(collection, vector_name, pos, neg, k, conditions)
        return [_hit(r) for r in scored]

    def get_vectors(self, collection: str, vector_name: str, sample_ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of these samples, in input order, as an (n, dim) float32 array."""
        dim = self._checked_dim(collection, vector_name)
        ids = [schema.point_id(s) for s in sample_ids]
        found: dict[str, Any] = {}
        for start in range(0, len(ids), ID_CHUNK):
            for record in self._retrieve(collection, ids[start : start + ID_CHUNK], False, [vector_name]):
                if record.vectors.get(vector_name) is not None:
                    found[record.id] = record.vectors[vector_name]
        missing = [s for s, pid in zip(sample_ids, ids) if pid not in found]
        if missing:
            shown = ", ".join(repr(s) for s in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise SampleNotFoundError(
                f"collection {collection!r} has no vector {vector_name!r} for sample id {shown}; "
                f"check the id, or ingest it with this encoder"
            )
        if not ids:
            return np.zeros((0, dim), dtype=np.float32)
        return np.asarray([found[pid] for pid in ids], dtype=np.float32)

    def iter_points(
        self, collection: str, vector_names: Sequence[str], batch_size: int = 1024
    ) -> Iterator[tuple[list[str], dict[str, np.ndarray], list[dict[str, Any]]]]:
        """Every point that has all of `vector_names`, in batches of (sample_ids, {name: (n, dim) array}, payloads)."""
        names = list(vector_names)
        dims = {name: self._checked_dim(collection, name) for name in names}
        offset = None
        conditions = Conditions(has_vectors=names)
        while True:
            records, offset = self._scroll(collection, conditions, names, True, batch_size, offset)
            if records:
                arrays = {
                    name: np.asarray([r.vectors[name] for r in records], dtype=np.float32).reshape(-1, dims[name])
                    for name in names
                }
                yield [str(r.payload.get("sample_id")) for r in records], arrays, [r.payload for r in records]
            if offset is None:
                return

    def stored_ids(self, collection: str, vector_name: str, filter: dict[str, Any] | None = None) -> list[str]:
        """The sample ids of the points that have `vector_name` and match `filter`; no vector is read."""
        self._checked_dim(collection, vector_name)
        conditions = Conditions(match=schema.check_filter(filter), has_vectors=[vector_name])
        found: list[str] = []
        offset = None
        while True:
            records, offset = self._scroll(collection, conditions, [], True, ID_CHUNK, offset)
            found += [str(r.payload.get("sample_id")) for r in records]
            if offset is None:
                return found

    def page(self, collection: str, filter: dict[str, Any] | None = None, *, limit: int = 20,
             offset: str | None = None) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
        """Up to `limit` points matching the payload `filter`, as (sample id, payload) pairs in the store's order
        (by point id), from `offset` (None: the first page; else what the previous page returned), and the offset
        of the next page (None: this was the last). No vector is read."""
        if not self._has_collection(collection):
            raise InvalidOptionError(f"collection {collection!r} does not exist in {self.location}; ingest into it "
                                     f"first (`embedkit collections` lists them)")
        conditions = Conditions(match=schema.check_filter(filter))
        records, following = self._scroll(collection, conditions, [], True, limit, offset)
        return ([(str(r.payload.get("sample_id")), r.payload) for r in records],
                None if following is None else str(following))

    def count_filtered(self, collection: str, filter: dict[str, Any] | None = None) -> int:
        """How many points match the payload `filter` (None: every point)."""
        if not self._has_collection(collection):
            return 0
        return self._count(collection, Conditions(match=schema.check_filter(filter)))

    def count(self, collection: str, vector_name: str | None = None) -> int:
        """Points in a collection, or those that have `vector_name`. 0 when the collection does not exist."""
        if not self._has_collection(collection):
            return 0
        if vector_name is not None and vector_name not in self._vector_dims(collection):
            return 0
        return self._count(collection, Conditions(has_vectors=[vector_name] if vector_name else []))

    def count_matching(
        self, collection: str, sample_ids: Sequence[str] | None = None, *, filter: dict[str, Any] | None = None
    ) -> int:
        """How many points `delete` with the same arguments would delete (and the same errors)."""
        return sum(self._count(collection, c) for c in self._selection(collection, sample_ids, filter))

    def collections(self) -> list[CollectionInfo]:
        """Every collection, with its point count and its named vectors."""
        infos = []
        for name in sorted(self._collection_names()):
            recorded = self._read_metadata(name)["vectors"]
            dims = self._vector_dims(name)
            vectors = {
                v: VectorSummary(v, dims.get(v), self._count(name, Conditions(has_vectors=[v])),
                                 schema.stored_record(recorded[v]) if v in recorded else None)
                for v in sorted(set(dims) | set(recorded))
            }
            infos.append(CollectionInfo(name, self._count(name, Conditions()), vectors, self.default_vector(name),
                                        self.half_written(name)))
        return infos

    # ---- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"

    # ---- shared helpers --------------------------------------------------------------------
    def _checked_dim(self, collection: str, vector_name: str) -> int:
        if not self._has_collection(collection):
            raise InvalidOptionError(
                f"collection {collection!r} does not exist in {self.location}; ingest into it first "
                f"(`embedkit collections` lists them)"
            )
        dims = self._vector_dims(collection)
        if vector_name not in dims:
            known = ", ".join(sorted(dims)) or "none"
            raise SchemaMismatchError(
                f"collection {collection!r} has no vector {vector_name!r} (it has: {known}); "
                f"ingest with that encoder first, or pick one of those"
            )
        return dims[vector_name]

    def _write_error(self, collection: str, vector_name: str, attempted: int, error: Exception) -> StoreWriteError:
        committed = _count_after_failure(lambda: self._count(collection, Conditions(has_vectors=[vector_name])))
        return _failed_write(f"writing {attempted} points to {collection!r}/{vector_name!r}", error,
                             f"{committed} points with this vector are committed; fix the cause (e.g. free disk "
                             f"space) and re-run to store the rest")


def _passes_through(error: Exception) -> bool:
    """Whether a write's failure is told as it is: an embedkit error, except a full disk and a failure of the
    backend's library, which are told with what was committed."""
    return isinstance(error, EmbedkitError) and not isinstance(error, (StoreFullError, StoreBackendError))


def _cause(error: Exception) -> BaseException:
    """The exception a write failed with: the library's one a StoreBackendError was raised from, else itself."""
    if isinstance(error, StoreBackendError) and error.__cause__ is not None:
        return error.__cause__
    return error


def _failed_write(what: str, error: Exception, outcome: str) -> StoreWriteError:
    """The one line for a write that failed part-way: `what` failed, why (the first line of the library's error),
    and `outcome`; a full disk stays a StoreFullError, its cause quoted as the OSError(ENOSPC) it was told as
    before it had a type of its own."""
    if isinstance(error, StoreFullError):
        return StoreFullError(f"{what} failed ([Errno {errno.ENOSPC}] {error}); {outcome}")
    return StoreWriteError(f"{what} failed ({first_line(_cause(error))}); {outcome}")


def _count_after_failure(count: Callable[[], int]) -> str:
    try:
        return str(count())
    except Exception:  # the store may be unusable after the failure
        return "an unknown number of"


def _hit(record: ScoredRecord) -> Hit:
    return Hit(sample_id=str(record.payload.get("sample_id")), score=float(record.score), payload=record.payload)
