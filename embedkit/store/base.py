"""The Store interface: sample vectors under named vectors in Qdrant collections, the same on every backend.

A backend implements the small private primitives at the bottom of `Store`; the public methods, the
schema checks and the metadata point are implemented once, here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedkit.errors import EmbedkitError, InvalidOptionError, SampleNotFoundError, SchemaMismatchError, StoreWriteError
from embedkit.store import schema

log = logging.getLogger(__name__)

ID_CHUNK = 1024


@dataclass
class Hit:
    """One search result."""

    sample_id: str
    score: float
    payload: dict[str, Any]


@dataclass
class VectorSummary:
    """One named vector of a collection: its dimension, how many points have it, and its recorded encoder."""

    name: str
    dim: int | None
    points: int
    info: dict[str, Any] | None


@dataclass
class CollectionInfo:
    name: str
    points: int
    vectors: dict[str, VectorSummary] = field(default_factory=dict)


@dataclass
class Conditions:
    """What a backend turns into a Qdrant filter. The metadata point is always excluded."""

    match: dict[str, Any] = field(default_factory=dict)
    has_vectors: list[str] = field(default_factory=list)
    ids: list[str] | None = None
    exclude_ids: list[str] = field(default_factory=list)


@dataclass
class PointRecord:
    id: str
    vectors: dict[str, Any]
    payload: dict[str, Any]


@dataclass
class ScoredRecord:
    id: str
    score: float
    payload: dict[str, Any]


class Store:
    """Vectors of samples, under one named vector per encoder, in one collection per dataset."""

    location: str = ""
    embedkit_version: str = "0"

    # ---- schema ----------------------------------------------------------------------------
    def ensure_vector(self, collection: str, vector_name: str, dim: int, encoder_info: dict[str, Any]) -> None:
        """Create the collection and/or the named vector (cosine), recording the encoder that fills it.

        Raises SchemaMismatchError, before anything is written, when the name is taken by another encoder or dim.
        """
        schema.check_collection_name(collection)
        schema.check_vector_name(vector_name)
        if int(dim) < 1:
            raise InvalidOptionError(f"vector dim must be positive, got {dim}")
        wanted = schema.vector_record(dim, encoder_info, self.embedkit_version)
        if not self._has_collection(collection):
            self._create_collection(collection, vector_name, int(dim))
            self._write_metadata(collection, {"schema_version": schema.SCHEMA_VERSION, "vectors": {vector_name: wanted}})
            log.info("created collection %s with vector %s (dim %d)", collection, vector_name, dim)
            return
        metadata = self._read_metadata(collection)
        dims = self._vector_dims(collection)
        stored = metadata["vectors"].get(vector_name)
        if stored is not None:
            if schema.identity_conflicts(stored, wanted):
                raise schema.mismatch_error(collection, vector_name, stored, wanted)
            if vector_name in dims:
                return
        elif vector_name in dims and dims[vector_name] != int(dim):
            raise SchemaMismatchError(
                f"collection {collection!r} already has vector {vector_name!r} with dim {dims[vector_name]} "
                f"(not recorded by embedkit), but dim {dim} was given; use another vector name"
            )
        if vector_name not in dims:
            self._add_vector(collection, vector_name, int(dim))
            log.info("added vector %s (dim %d) to collection %s", vector_name, dim, collection)
        metadata["vectors"][vector_name] = wanted
        self._write_metadata(collection, metadata)

    def vector_names(self, collection: str) -> list[str]:
        """The named vectors of a collection, sorted; empty when the collection does not exist."""
        return sorted(self._vector_dims(collection)) if self._has_collection(collection) else []

    def vector_info(self, collection: str, vector_name: str) -> dict[str, Any] | None:
        """The recorded encoder of a vector name (encoder, weights, weights_sha256, dim, preprocessing, ...)."""
        if not self._has_collection(collection):
            return None
        return self._read_metadata(collection)["vectors"].get(vector_name)

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
        except EmbedkitError:
            raise
        except Exception as error:  # the backends raise OSError, RuntimeError or their own errors
            raise self._write_error(collection, vector_name, len(ids), error) from error

    def drop(self, collection: str) -> None:
        """Delete a collection and everything in it."""
        if not self._has_collection(collection):
            raise InvalidOptionError(f"collection {collection!r} does not exist in {self.location}")
        self._drop(collection)

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

    def recommend(
        self,
        collection: str,
        vector_name: str,
        positive: Sequence[str],
        negative: Sequence[str] = (),
        k: int = 10,
        filter: dict[str, Any] | None = None,
    ) -> list[Hit]:
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

    def count(self, collection: str, vector_name: str | None = None) -> int:
        """Points in a collection, or those that have `vector_name`. 0 when the collection does not exist."""
        if not self._has_collection(collection):
            return 0
        if vector_name is not None and vector_name not in self._vector_dims(collection):
            return 0
        return self._count(collection, Conditions(has_vectors=[vector_name] if vector_name else []))

    def collections(self) -> list[CollectionInfo]:
        """Every collection, with its point count and its named vectors."""
        infos = []
        for name in sorted(self._collection_names()):
            recorded = self._read_metadata(name)["vectors"]
            dims = self._vector_dims(name)
            vectors = {
                v: VectorSummary(v, dims.get(v), self._count(name, Conditions(has_vectors=[v])), recorded.get(v))
                for v in sorted(set(dims) | set(recorded))
            }
            infos.append(CollectionInfo(name, self._count(name, Conditions()), vectors))
        return infos

    # ---- lifecycle ---------------------------------------------------------------------------
    def optimize(self, collection: str | None = None) -> None:
        """Build indexes after a bulk load (HNSW, payload indexes). A server does this in the background."""

    def flush(self) -> None:
        """Make every write so far durable."""

    def close(self) -> None:
        """Flush and release the store."""

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

    def _read_metadata(self, collection: str) -> dict[str, Any]:
        records = self._retrieve(collection, [schema.METADATA_POINT_ID], True, [])
        metadata = records[0].payload.get(schema.METADATA_KEY) if records else None
        if not isinstance(metadata, dict):
            metadata = {"schema_version": schema.SCHEMA_VERSION}
        metadata.setdefault("vectors", {})
        return metadata

    def _write_metadata(self, collection: str, metadata: dict[str, Any]) -> None:
        self._put_metadata_point(collection, {schema.METADATA_KEY: metadata})

    def _write_error(self, collection: str, vector_name: str, attempted: int, error: Exception) -> StoreWriteError:
        try:
            committed: str = str(self._count(collection, Conditions(has_vectors=[vector_name])))
        except Exception:  # the store may be unusable after the failure
            committed = "an unknown number of"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return StoreWriteError(
            f"writing {attempted} points to {collection!r}/{vector_name!r} failed ({reason}); {committed} points "
            f"with this vector are committed; fix the cause (e.g. free disk space) and re-run to store the rest"
        )

    # ---- what a backend implements -----------------------------------------------------------
    def _collection_names(self) -> list[str]:
        raise NotImplementedError

    def _has_collection(self, collection: str) -> bool:
        raise NotImplementedError

    def _create_collection(self, collection: str, vector_name: str, dim: int) -> None:
        raise NotImplementedError

    def _vector_dims(self, collection: str) -> dict[str, int]:
        raise NotImplementedError

    def _add_vector(self, collection: str, vector_name: str, dim: int) -> None:
        raise NotImplementedError

    def _drop(self, collection: str) -> None:
        raise NotImplementedError

    def _put_metadata_point(self, collection: str, payload: dict[str, Any]) -> None:
        raise NotImplementedError

    def _retrieve(self, collection: str, ids: list[str], with_payload: bool, vectors: list[str]) -> list[PointRecord]:
        raise NotImplementedError

    def _upsert(
        self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray, payloads: list[dict[str, Any]]
    ) -> None:
        raise NotImplementedError

    def _update_vectors(self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray) -> None:
        raise NotImplementedError

    def _set_payloads(self, collection: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        raise NotImplementedError

    def _query(
        self, collection: str, vector_name: str, vector: np.ndarray, k: int, conditions: Conditions, exact: bool
    ) -> list[ScoredRecord]:
        raise NotImplementedError

    def _recommend(
        self,
        collection: str,
        vector_name: str,
        positive: np.ndarray,
        negative: np.ndarray,
        k: int,
        conditions: Conditions,
    ) -> list[ScoredRecord]:
        raise NotImplementedError

    def _scroll(
        self,
        collection: str,
        conditions: Conditions,
        vectors: list[str],
        with_payload: bool,
        limit: int,
        offset: Any,
    ) -> tuple[list[PointRecord], Any]:
        raise NotImplementedError

    def _count(self, collection: str, conditions: Conditions) -> int:
        raise NotImplementedError


def _hit(record: ScoredRecord) -> Hit:
    return Hit(sample_id=str(record.payload.get("sample_id")), score=float(record.score), payload=record.payload)
