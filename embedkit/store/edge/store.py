"""The embedded backend: Qdrant Edge shards in a directory, one shard directory per collection."""

from __future__ import annotations

import array
import json
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from embedkit.errors import InvalidOptionError, StoreLockedError, StoreReadOnlyError, StoreUnavailableError
from embedkit.store import schema
from embedkit.store.base import Store
from embedkit.store.collection_options import CollectionOptions, QuantizedSearch
from embedkit.store.edge import CAPABILITIES
from embedkit.store.edge.filters import edge_filter
from embedkit.store.edge.lock import DirectoryLock
from embedkit.store.edge.readonly import ShardCopies
from embedkit.store.edge.space import MIN_FREE_ENV, check_space, shortage
from embedkit.store.points import Conditions, PointRecord, ScoredRecord

log = logging.getLogger(__name__)

CONFIG_FILE = "edge_config.json"
WRITE_BATCH = 512


class EdgeStore(Store):
    """Collections are Qdrant Edge shards at `root/<collection>/`; the root is locked while this store is open.

    A store this process may not write opens read-only: reads work on temporary copies of its shards
    (embedkit/store/edge/readonly.py), and every write raises StoreReadOnlyError.
    """

    capabilities = CAPABILITIES

    def __init__(
        self,
        root: str | Path,
        *,
        embedkit_version: str,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 128,
        hnsw_ef: int = 128,
        collection_options: CollectionOptions | None = None,
    ):
        _refuse_distributed(collection_options)
        self.collection_options = collection_options
        self.root = Path(root).expanduser().resolve()
        self.location = str(self.root)
        self.embedkit_version = embedkit_version
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construct = hnsw_ef_construct
        self.hnsw_ef = hnsw_ef
        self.quantized_search: QuantizedSearch | None = None
        """How searches read a quantized collection (None: Qdrant's default, rescored); a query-time setting."""
        if (self.root / CONFIG_FILE).exists():
            raise StoreUnavailableError(
                f"{self.root} is one collection of an embedded store, not a store; open its parent {self.root.parent}"
            )
        if self.root.exists() and not self.root.is_dir():
            raise StoreUnavailableError(f"{self.root} is a file; give a directory for the embedded store")
        self._lock = DirectoryLock(self.root)
        self.read_only_reason: str | None = None
        self.read_only = False
        self._copies: ShardCopies | None = None
        self._shards: dict[str, qe.EdgeShard] = {}
        self._opening = threading.Lock()
        self._dims: dict[str, dict[str, int]] = {}
        # a folder that does not exist is a store without collections, created by its first collection, not by a read
        self._absent = not self.root.is_dir()
        self._read_while_absent = False
        if not self._absent:
            self._take_lock()

    def _take_lock(self) -> None:
        # Edge writes into a shard even to read it: on a full disk, read a copy elsewhere, and write not even the lock
        self.read_only_reason = shortage(self.root) or self._lock.acquire()
        self.read_only = self.read_only_reason is not None
        self._copies = ShardCopies(self.root, self._lock) if self.read_only else None

    def _create_store(self) -> None:
        """Create the store's folder and lock it: the first collection of a store that did not exist."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnavailableError(f"cannot create the embedded store directory {self.root} ({error})") from error
        self._take_lock()
        self._absent = False

    # ---- shards ----------------------------------------------------------------------------
    def _path(self, collection: str) -> Path:
        return self.root / schema.check_collection_name(collection)

    def _shard(self, collection: str) -> qe.EdgeShard:
        shard = self._shards.get(collection)
        if shard is not None:
            return shard
        with self._opening:  # two threads of one server must not load one shard twice (its WAL lock refuses)
            shard = self._shards.get(collection)
            if shard is not None:
                return shard
            if self._absent:
                raise StoreUnavailableError(f"there is no embedded store at {self.root} (the folder does not exist); "
                                            f"check the store location (--qdrant), or ingest into it first")
            path = self._path(collection)
            where = path if self._copies is None else self._copies.copy(collection)
            shard = self._guard_open(path, lambda: qe.EdgeShard.load(str(where)))
            self._shards[collection] = shard
            return shard

    def _writable(self, collection: str, needed: int = 0) -> qe.EdgeShard:
        self.check_writable(f"write to collection {collection!r}")
        shard = self._shard(collection)
        check_space(self.root, needed)  # a write to a full disk is a bus error in Edge's memory maps
        return shard

    def check_writable(self, action: str) -> None:
        if self.read_only and self.read_only_reason and MIN_FREE_ENV in self.read_only_reason:
            raise StoreReadOnlyError(f"cannot {action}: {self.read_only_reason}; free some space there (reading "
                                     f"works meanwhile), or copy the store elsewhere and use that (--qdrant NEW_DIR)")
        if self.read_only:
            raise StoreReadOnlyError(
                f"cannot {action}: the embedded store {self.root} is read-only here ({self.read_only_reason}); "
                f"copy it to a writable folder and make the copy writable (cp -r {self.root} NEW_DIR && "
                f"chmod -R u+w NEW_DIR), then use that (--qdrant NEW_DIR)"
            )

    def _guard_open(self, path: Path, opener: Any) -> qe.EdgeShard:
        try:
            return opener()
        except Exception as error:
            message = str(error)
            if "WAL" in message and ("WouldBlock" in message or "lock" in message.lower()):
                raise StoreLockedError(
                    f"the embedded store collection at {path} is open in another process; "
                    f"close that process (or wait for it to finish) and retry"
                ) from error
            raise StoreUnavailableError(f"cannot open the embedded store collection at {path} ({message})") from error

    def _collection_names(self) -> list[str]:
        if self._absent:
            self._read_while_absent = True
            return []
        return [p.name for p in self.root.iterdir() if (p / CONFIG_FILE).is_file()]

    def _has_collection(self, collection: str) -> bool:
        if self._absent:
            self._read_while_absent = True
            return False
        return collection in self._shards or (self._path(collection) / CONFIG_FILE).is_file()

    def _create_collection(self, collection: str, vector_name: str, dim: int) -> None:
        options = self.collection_options or CollectionOptions()
        _refuse_distributed(options)
        if self._absent:
            self._create_store()
        self.check_writable(f"create collection {collection!r}")
        check_space(self.root)
        path = self._path(collection)
        on_disk = True if options.on_disk else None
        config = qe.EdgeConfig(
            vectors={vector_name: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, on_disk=on_disk)},
            hnsw_config=qe.HnswIndexConfig(m=self.hnsw_m, ef_construct=self.hnsw_ef_construct, full_scan_threshold=10_000),
            quantization_config=_quantization(options.quantization),
        )
        shard = self._guard_open(path, lambda: qe.EdgeShard.create(str(path), config))
        self._shards[collection] = shard
        for field, kind in schema.INDEXED_FIELDS.items():
            shard.update(qe.UpdateOperation.create_field_index(field, _PAYLOAD_TYPES[kind]))
        self._dims[collection] = {vector_name: dim}

    def _vector_dims(self, collection: str) -> dict[str, int]:
        dims = self._dims.get(collection)
        if dims is None:
            self._shard(collection)
            config = json.loads((self._path(collection) / CONFIG_FILE).read_text())
            dims = {name: int(params["size"]) for name, params in config.get("vectors", {}).items()}
            self._dims[collection] = dims
        return dict(dims)

    def _add_vector(self, collection: str, vector_name: str, dim: int) -> None:
        self._writable(collection).update(qe.UpdateOperation.create_dense_vector(vector_name, dim, qe.Distance.Cosine))
        self._dims.setdefault(collection, {})[vector_name] = dim

    def _drop(self, collection: str) -> None:
        self.check_writable(f"drop collection {collection!r}")
        shard = self._shards.pop(collection, None)
        if shard is not None:
            shard.close()
        self._dims.pop(collection, None)
        shutil.rmtree(self._path(collection))

    # ---- points -----------------------------------------------------------------------------
    def _create_field_index(self, collection: str, field: str, kind: str) -> None:
        self._writable(collection).update(qe.UpdateOperation.create_field_index(field, _PAYLOAD_TYPES[kind]))

    def _put_metadata_point(self, collection: str, payload: dict[str, Any]) -> None:
        point = qe.Point(schema.METADATA_POINT_ID, {}, payload)
        self._writable(collection).update(qe.UpdateOperation.upsert_points([point]))

    def _retrieve(self, collection: str, ids: list[str], with_payload: bool, vectors: list[str]) -> list[PointRecord]:
        if not ids:
            return []
        records = self._shard(collection).retrieve(ids, with_payload, vectors or False)
        return [_record(r) for r in records]

    def _upsert(
        self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray, payloads: list[dict[str, Any]]
    ) -> None:
        shard = self._writable(collection, needed=2 * vectors.nbytes)  # the vectors, and their copy in the WAL
        for start in range(0, len(ids), WRITE_BATCH):
            points = [
                qe.Point(ids[i], {vector_name: _floats(vectors[i])}, payloads[i])
                for i in range(start, min(start + WRITE_BATCH, len(ids)))
            ]
            shard.update(qe.UpdateOperation.upsert_points(points))

    def _update_vectors(self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray) -> None:
        shard = self._writable(collection)
        for start in range(0, len(ids), WRITE_BATCH):
            items = [
                qe.PointVectors(ids[i], {vector_name: _floats(vectors[i])})
                for i in range(start, min(start + WRITE_BATCH, len(ids)))
            ]
            shard.update(qe.UpdateOperation.update_vectors(items))

    def _set_payloads(self, collection: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        shard = self._writable(collection)
        for point_id, payload in items:
            shard.update(qe.UpdateOperation.set_payload([point_id], payload))

    def _query(
        self, collection: str, vector_name: str, vector: np.ndarray, k: int, conditions: Conditions, exact: bool
    ) -> list[ScoredRecord]:
        query = qe.Query.Nearest(_floats(vector), using=vector_name)
        return self._run_query(collection, query, k, conditions, exact)

    def _query_batch(
        self, collection: str, vector_name: str, vectors: np.ndarray, k: int, conditions: Conditions, exact: bool,
        score_threshold: float | None, fields: list[str] | None = None,
    ) -> list[list[ScoredRecord]]:
        filter, params = _filter(conditions), self._search_params(k, exact)
        payload = True if fields is None else qe.PayloadSelector.Include(fields)
        requests = [qe.QueryRequest(limit=int(k), query=qe.Query.Nearest(_floats(vector), using=vector_name),
                                    filter=filter, with_payload=payload, params=params, score_threshold=score_threshold)
                    for vector in vectors]
        results = self._shard(collection).query_batch(qe.QueryBatchRequest(requests)) if requests else []
        return [[ScoredRecord(str(p.id), float(p.score), p.payload or {}) for p in points] for points in results]

    def _delete_payload(self, collection: str, ids: list[str], keys: list[str]) -> None:
        self._writable(collection).update(qe.UpdateOperation.delete_payload(ids, keys))

    def _recommend(
        self,
        collection: str,
        vector_name: str,
        positive: np.ndarray,
        negative: np.ndarray,
        k: int,
        conditions: Conditions,
    ) -> list[ScoredRecord]:
        examples = qe.RecommendQuery([_floats(v) for v in positive], [_floats(v) for v in negative])
        return self._run_query(collection, qe.Query.RecommendBestScore(examples, using=vector_name), k, conditions, False)

    def _run_query(self, collection: str, query: Any, k: int, conditions: Conditions, exact: bool) -> list[ScoredRecord]:
        request = qe.QueryRequest(
            limit=int(k),
            query=query,
            filter=_filter(conditions),
            with_payload=True,
            params=self._search_params(k, exact),
        )
        return [ScoredRecord(str(p.id), float(p.score), p.payload or {}) for p in self._shard(collection).query(request)]

    def _search_params(self, k: int, exact: bool) -> Any:
        quantized = self.quantized_search
        quantization = None if quantized is None else \
            qe.QuantizationSearchParams(rescore=quantized.rescore, oversampling=quantized.oversampling)
        return qe.SearchParams(hnsw_ef=max(self.hnsw_ef, int(k)), exact=exact, quantization=quantization)

    def _scroll(
        self,
        collection: str,
        conditions: Conditions,
        vectors: list[str],
        with_payload: bool,
        limit: int,
        offset: Any,
    ) -> tuple[list[PointRecord], Any]:
        request = qe.ScrollRequest(
            offset=offset, limit=int(limit), filter=_filter(conditions), with_payload=with_payload,
            with_vector=vectors or False,
        )
        records, next_offset = self._shard(collection).scroll(request)
        return [_record(r) for r in records], next_offset

    def _count(self, collection: str, conditions: Conditions) -> int:
        return int(self._shard(collection).count(qe.CountRequest(exact=True, filter=_filter(conditions))))

    def _facet(self, collection: str, field: str, limit: int, conditions: Conditions) -> list[tuple[Any, int]]:
        request = qe.FacetRequest(field, limit=limit, exact=True, filter=_filter(conditions))
        return [(hit.value, int(hit.count)) for hit in self._shard(collection).facet(request).hits]

    def _delete(self, collection: str, conditions: Conditions) -> None:
        self._writable(collection).update(qe.UpdateOperation.delete_points_by_filter(_filter(conditions)))

    # ---- lifecycle ---------------------------------------------------------------------------
    def _build_index(self, collection: str) -> None:
        """Merge segments and build the HNSW index; blocks until done (minutes for 100k large vectors)."""
        check_space(self.root)
        if self._shard(collection).optimize():
            log.info("optimized collection %s", collection)

    def flush(self) -> None:
        if not self.read_only:  # a read-only store has nothing to flush; its copies are thrown away
            for shard in self._shards.values():
                shard.flush()

    def close(self) -> None:
        """Flush and close every shard, even when one fails; then raise the first failure."""
        first_error: Exception | None = None
        for shard in self._shards.values():
            try:
                if not self.read_only:
                    shard.flush()
            except Exception as error:
                first_error = first_error or error
            finally:
                shard.close()
        self._shards.clear()
        self._lock.release()
        if self._absent and self._read_while_absent:  # said once, at the end: an ingest reads before it creates
            log.warning("there is no embedded store at %s: the folder does not exist (an ingest creates it)", self.root)
        if self._copies is not None:
            self._copies.remove()
        if first_error is not None:
            raise first_error


_PAYLOAD_TYPES = {"keyword": qe.PayloadSchemaType.Keyword, "integer": qe.PayloadSchemaType.Integer}


def _quantization(kind: str | None) -> Any:
    if kind == "scalar":
        return qe.ScalarQuantizationConfig(qe.ScalarType.Int8, always_ram=True)
    if kind == "binary":
        return qe.BinaryQuantizationConfig(always_ram=True)
    if kind == "product":
        return qe.ProductQuantizationConfig(qe.CompressionRatio.X16, always_ram=True)
    return None


def _refuse_distributed(options: CollectionOptions | None) -> None:
    if options is not None and options.distributed:
        raise InvalidOptionError("shards and replication are for a Qdrant server: pass --qdrant http://HOST:6333 "
                                 "(the embedded store keeps each collection in one shard)")


def _floats(vector: np.ndarray) -> array.array:
    # qdrant_edge copies an array.array about 3x faster than a numpy row or a list
    return array.array("f", np.ascontiguousarray(vector, dtype=np.float32).tobytes())


def _record(record: Any) -> PointRecord:
    return PointRecord(str(record.id), record.vector or {}, record.payload or {})


def _filter(conditions: Conditions) -> qe.Filter:
    must: list[Any] = []
    for key, value in conditions.match.items():
        if isinstance(value, (list, tuple, set, frozenset)):
            must.append(qe.FieldCondition(key, match=qe.MatchAny(list(value))))
        else:
            must.append(qe.FieldCondition(key, match=qe.MatchValue(value)))
    must.extend(qe.HasVectorCondition(name) for name in conditions.has_vectors)
    if conditions.ids is not None:
        must.append(qe.HasIdCondition(set(conditions.ids)))
    if conditions.filter is not None:
        must.append(edge_filter(conditions.filter))
    excluded = {schema.METADATA_POINT_ID, *conditions.exclude_ids}
    return qe.Filter(must=must or None, must_not=[qe.HasIdCondition(excluded)])
