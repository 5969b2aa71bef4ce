"""The server backend: a Qdrant server through qdrant-client (also qdrant-client's own local mode)."""

from __future__ import annotations

import logging
import shutil
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as m
from qdrant_client.http.exceptions import UnexpectedResponse

from embedkit.errors import InvalidOptionError, StoreLockedError, StoreUnavailableError, StoreWriteError
from embedkit.store import schema
from embedkit.store.backend import StoreCapabilities
from embedkit.store.base import Store
from embedkit.store.client import LOCAL, SERVER
from embedkit.store.collection_options import CollectionOptions, QuantizedSearch
from embedkit.store.urls import parse_server_url
from embedkit.store.points import Conditions, PointRecord, ScoredRecord
from embedkit.store.client.answers import error_line, log_version, refusal, unsupported
from embedkit.store.client.filters import conditions_filter

log = logging.getLogger(__name__)

WRITE_BATCH = 256  # 256 x 2048 floats stays far below a server's default 32 MB request limit
CONNECT_ATTEMPTS = 3
CONNECT_BACKOFF_S = (0.25, 1.0)
TIMEOUT_S = 10
BACKUP_SUFFIX = ".embedkit-backup"
DEFAULT_INDEXING_THRESHOLD_KB = 10_000  # what Qdrant's documentation sets to switch indexing back on

_PAYLOAD_TYPES = {"keyword": m.PayloadSchemaType.KEYWORD, "integer": m.PayloadSchemaType.INTEGER}


class ClientStore(Store):
    """Collections are Qdrant collections reached through a `QdrantClient`: a server's (`connect`), or those of
    qdrant-client's own local mode (`local`)."""

    capabilities: StoreCapabilities = SERVER

    created_folder: Path | None = None
    """The local-mode folder this store created on opening: removed on closing if no collection was written."""

    def __init__(self, client: QdrantClient, location: str, *, embedkit_version: str, hnsw_ef: int = 128,
                 capabilities: StoreCapabilities = SERVER, collection_options: CollectionOptions | None = None):
        self.client = client
        self.location = location
        self.capabilities = capabilities
        self.collection_options = collection_options
        self.embedkit_version = embedkit_version
        self.hnsw_ef = hnsw_ef
        self.quantized_search: QuantizedSearch | None = None
        """How searches read a quantized collection (None: Qdrant's default, rescored); a query-time setting."""
        self._dims: dict[str, dict[str, int]] = {}

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        grpc: bool = False,
        api_key: str | None = None,
        embedkit_version: str,
        collection_options: CollectionOptions | None = None,
        attempts: int = CONNECT_ATTEMPTS,
        timeout: int = TIMEOUT_S,
    ) -> ClientStore:
        """A Qdrant server at `url`; raises StoreUnavailableError after `attempts` failed tries.

        Credentials in the URL are used (`?api_key=KEY` over `api_key`; `user:password@` as HTTP basic auth)
        and never shown: the store's `location`, its logs and its errors carry the URL redacted."""
        server = parse_server_url(url)
        key = server.api_key or api_key
        shown = server.shown
        try:  # the client's own version check runs in a thread and warns about unreachable servers; we report those
            client = QdrantClient(url=server.url, api_key=key, prefer_grpc=grpc, timeout=timeout,
                                  check_compatibility=False, headers=server.headers() or None)
        except Exception as error:
            raise InvalidOptionError(f"the Qdrant URL {shown!r} cannot be used "
                                     f"({server.scrub(error_line(error), key)}); write http(s)://HOST:PORT") from error
        protocol = "gRPC" if grpc else "REST"
        for attempt in range(attempts):
            try:
                client.get_collections()
                log_version(client, shown)
                return cls(client, shown, embedkit_version=embedkit_version, collection_options=collection_options)
            except UnexpectedResponse as error:
                if error.status_code in (401, 403):
                    client.close()
                    raise StoreUnavailableError(refusal(shown, error.status_code, key, server.basic_auth)) from error
                reason = f"HTTP {error.status_code}"
            except Exception as error:  # connection refused, DNS, TLS, timeouts, gRPC errors
                reason = server.scrub(error_line(error), key)
            if attempt + 1 < attempts:
                delay = CONNECT_BACKOFF_S[min(attempt, len(CONNECT_BACKOFF_S) - 1)]
                log.warning("Qdrant server %s not reachable (%s); retrying in %.2fs", shown, reason, delay)
                time.sleep(delay)
        client.close()
        raise StoreUnavailableError(
            f"cannot reach the Qdrant server at {shown} over {protocol} after {attempts} attempts ({reason}); "
            f"check that it is running and that the URL and port are right"
        )

    @classmethod
    def local(cls, path: str | None, *, embedkit_version: str,
              collection_options: CollectionOptions | None = None) -> ClientStore:
        """qdrant-client's local mode, in memory (path None) or in a directory."""
        new_folder = None if path is None or Path(path).exists() else Path(path)
        try:
            client = QdrantClient(location=":memory:") if path is None else QdrantClient(path=path)
        except RuntimeError as error:
            if "already accessed" in str(error):
                raise StoreLockedError(
                    f"the qdrant-client local store {path} is open in another process; close it and retry"
                ) from error
            raise StoreUnavailableError(f"cannot open the qdrant-client local store {path} ({error})") from error
        store = cls(client, ":memory:" if path is None else f"local:{path}", embedkit_version=embedkit_version,
                    capabilities=LOCAL, collection_options=collection_options)
        store.created_folder = new_folder
        return store

    # ---- collections -------------------------------------------------------------------------
    def _collection_names(self) -> list[str]:
        return [c.name for c in self.client.get_collections().collections if not c.name.endswith(BACKUP_SUFFIX)]

    def _has_collection(self, collection: str) -> bool:
        return collection in self._dims or self.client.collection_exists(collection)

    def _create_collection(self, collection: str, vector_name: str, dim: int) -> None:
        options = self.collection_options or CollectionOptions()
        if options.distributed and not self.capabilities.shards:
            log.info("qdrant-client local mode keeps one shard: the shards and replication factor are not applied")
        self._create(collection, options.client_arguments({vector_name: dim}))

    def _create(self, collection: str, layout: dict[str, Any]) -> None:
        """Create a collection from arguments of qdrant-client's `create_collection` (`vectors_config` among them)."""
        self.client.create_collection(collection, **layout)
        with self._quiet_local_mode():
            for field, kind in schema.INDEXED_FIELDS.items():
                self.client.create_payload_index(collection, field, _PAYLOAD_TYPES[kind], wait=True)
        self._dims[collection] = {name: params.size for name, params in layout["vectors_config"].items()}

    def _vector_dims(self, collection: str) -> dict[str, int]:
        dims = self._dims.get(collection)
        if dims is None:
            self._refuse_interrupted(collection)
            vectors = self.client.get_collection(collection).config.params.vectors
            if isinstance(vectors, m.VectorParams):
                dims = {"": vectors.size}
            else:
                dims = {name: params.size for name, params in (vectors or {}).items()}
            self._dims[collection] = dims
        return dict(dims)

    def _add_vector(self, collection: str, vector_name: str, dim: int) -> None:
        config = m.DenseVectorNameConfig(dense=m.DenseVectorConfig(size=dim, distance=m.Distance.COSINE))
        try:
            self.client.create_vector_name(collection, vector_name, config, wait=True)
        except Exception as error:
            if not unsupported(error):
                raise
            log.info("server cannot add a named vector in place (%s); recreating %s", error_line(error), collection)
            self._recreate_with_vector(collection, vector_name, dim)
        self._dims.setdefault(collection, {})[vector_name] = dim

    def _recreate_with_vector(self, collection: str, vector_name: str, dim: int) -> None:
        """Copy to a backup collection, recreate with the new vector, copy back, drop the backup.

        Nothing is lost on failure: until the copy back is verified, the backup collection holds every point,
        and a later attempt refuses to start while it exists.
        """
        backup = collection + BACKUP_SUFFIX
        self._refuse_interrupted(collection)
        old_dims = self._vector_dims(collection)
        config = self.client.get_collection(collection).config
        expected = self.client.count(collection, exact=True).count
        self._create(backup, _layout_like(config, old_dims))
        self._copy(collection, backup, expected)
        self.client.delete_collection(collection)
        self._dims.pop(collection, None)
        try:
            self._create(collection, _layout_like(config, {**old_dims, vector_name: dim}))
            self._copy(backup, collection, expected)
            for field, kind in (self._read_metadata(collection).get("indexed_fields") or {}).items():
                self._create_field_index(collection, field, kind)  # the ones index_field added
        except Exception as error:
            self._dims.pop(collection, None)
            raise StoreWriteError(
                f"recreating {collection!r} with vector {vector_name!r} failed ({error_line(error)}); every point is "
                f"safe in {backup!r}; copy them back into {collection!r} and delete {backup!r}"
            ) from error
        self.client.delete_collection(backup)
        self._dims.pop(backup, None)

    def _refuse_interrupted(self, collection: str) -> None:
        backup = collection + BACKUP_SUFFIX
        if self.client.collection_exists(backup):
            raise StoreWriteError(
                f"an earlier schema change of {collection!r} was interrupted; all its points are in {backup!r}; "
                f"copy them back into {collection!r} (any Qdrant client can scroll and upsert), delete {backup!r}, "
                f"and retry"
            )

    def _copy(self, source: str, target: str, expected: int) -> None:
        offset = None
        while True:
            records, offset = self.client.scroll(
                source, limit=WRITE_BATCH, offset=offset, with_payload=True, with_vectors=True
            )
            if records:
                points = [m.PointStruct(id=r.id, vector=r.vector or {}, payload=r.payload) for r in records]
                self.client.upsert(target, points, wait=True)
            if offset is None:
                break
        copied = self.client.count(target, exact=True).count
        if copied != expected:
            raise StoreWriteError(f"copying {source!r} to {target!r} gave {copied} points instead of {expected}")

    def _drop(self, collection: str) -> None:
        self.client.delete_collection(collection)
        self._dims.pop(collection, None)

    # ---- points -----------------------------------------------------------------------------
    def _create_field_index(self, collection: str, field: str, kind: str) -> None:
        with self._quiet_local_mode():
            self.client.create_payload_index(collection, field, _PAYLOAD_TYPES[kind], wait=True)

    def _put_metadata_point(self, collection: str, payload: dict[str, Any]) -> None:
        self.client.upsert(collection, [m.PointStruct(id=schema.METADATA_POINT_ID, vector={}, payload=payload)], wait=True)

    def _retrieve(self, collection: str, ids: list[str], with_payload: bool, vectors: list[str]) -> list[PointRecord]:
        if not ids:
            return []
        records = self.client.retrieve(collection, ids, with_payload=with_payload, with_vectors=vectors or False)
        return [_record(r) for r in records]

    def _upsert(
        self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray, payloads: list[dict[str, Any]]
    ) -> None:
        for start in range(0, len(ids), WRITE_BATCH):
            stop = min(start + WRITE_BATCH, len(ids))
            rows = vectors[start:stop].tolist()
            points = [
                m.PointStruct(id=ids[i], vector={vector_name: rows[i - start]}, payload=payloads[i])
                for i in range(start, stop)
            ]
            self.client.upsert(collection, points, wait=True)

    def _update_vectors(self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray) -> None:
        for start in range(0, len(ids), WRITE_BATCH):
            stop = min(start + WRITE_BATCH, len(ids))
            rows = vectors[start:stop].tolist()
            items = [m.PointVectors(id=ids[i], vector={vector_name: rows[i - start]}) for i in range(start, stop)]
            self.client.update_vectors(collection, items, wait=True)

    def _set_payloads(self, collection: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        for start in range(0, len(items), WRITE_BATCH):
            operations = [
                m.SetPayloadOperation(set_payload=m.SetPayload(payload=payload, points=[point_id]))
                for point_id, payload in items[start : start + WRITE_BATCH]
            ]
            self.client.batch_update_points(collection, operations, wait=True)

    def _query(
        self, collection: str, vector_name: str, vector: np.ndarray, k: int, conditions: Conditions, exact: bool
    ) -> list[ScoredRecord]:
        return self._run_query(collection, vector_name, vector.tolist(), k, conditions, exact)

    def _query_batch(
        self, collection: str, vector_name: str, vectors: np.ndarray, k: int, conditions: Conditions, exact: bool,
        score_threshold: float | None, fields: list[str] | None = None,
    ) -> list[list[ScoredRecord]]:
        params = self._search_params(k, exact)
        payload = True if fields is None else fields
        found: list[list[ScoredRecord]] = []
        for start in range(0, len(vectors), WRITE_BATCH):  # the rows of one request stay under its size limit
            requests = [m.QueryRequest(query=row, using=vector_name, limit=int(k), filter=conditions_filter(conditions),
                                       with_payload=payload, params=params, score_threshold=score_threshold)
                        for row in vectors[start : start + WRITE_BATCH].tolist()]
            with self._quiet_local_mode():
                responses = self.client.query_batch_points(collection, requests)
            found += [[ScoredRecord(str(p.id), float(p.score), p.payload or {}) for p in r.points] for r in responses]
        return found

    def _delete_payload(self, collection: str, ids: list[str], keys: list[str]) -> None:
        self.client.delete_payload(collection, keys=keys, points=ids, wait=True)

    def _recommend(
        self,
        collection: str,
        vector_name: str,
        positive: np.ndarray,
        negative: np.ndarray,
        k: int,
        conditions: Conditions,
    ) -> list[ScoredRecord]:
        query = m.RecommendQuery(
            recommend=m.RecommendInput(
                positive=positive.tolist(), negative=negative.tolist(), strategy=m.RecommendStrategy.BEST_SCORE
            )
        )
        return self._run_query(collection, vector_name, query, k, conditions, False)

    def _search_params(self, k: int, exact: bool) -> m.SearchParams:
        quantized = self.quantized_search
        quantization = None if quantized is None else \
            m.QuantizationSearchParams(rescore=quantized.rescore, oversampling=quantized.oversampling)
        return m.SearchParams(hnsw_ef=max(self.hnsw_ef, int(k)), exact=exact, quantization=quantization)

    def _run_query(
        self, collection: str, vector_name: str, query: Any, k: int, conditions: Conditions, exact: bool
    ) -> list[ScoredRecord]:
        with self._quiet_local_mode():
            response = self.client.query_points(
                collection,
                query=query,
                using=vector_name,
                limit=int(k),
                query_filter=conditions_filter(conditions),
                with_payload=True,
                search_params=self._search_params(k, exact),
            )
        return [ScoredRecord(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    def _scroll(
        self,
        collection: str,
        conditions: Conditions,
        vectors: list[str],
        with_payload: bool,
        limit: int,
        offset: Any,
    ) -> tuple[list[PointRecord], Any]:
        records, next_offset = self.client.scroll(
            collection,
            scroll_filter=conditions_filter(conditions),
            limit=int(limit),
            offset=offset,
            with_payload=with_payload,
            with_vectors=vectors or False,
        )
        return [_record(r) for r in records], next_offset

    def _count(self, collection: str, conditions: Conditions) -> int:
        return int(self.client.count(collection, count_filter=conditions_filter(conditions), exact=True).count)

    def _facet(self, collection: str, field: str, limit: int, conditions: Conditions) -> list[tuple[Any, int]]:
        response = self.client.facet(collection, field, facet_filter=conditions_filter(conditions), limit=limit, exact=True)
        return [(hit.value, int(hit.count)) for hit in response.hits]

    def _delete(self, collection: str, conditions: Conditions) -> None:
        self.client.delete(collection, points_selector=m.FilterSelector(filter=conditions_filter(conditions)), wait=True)

    # ---- indexing ----------------------------------------------------------------------------
    def _indexing_threshold(self, collection: str) -> int | None:
        threshold = self.client.get_collection(collection).config.optimizer_config.indexing_threshold
        return DEFAULT_INDEXING_THRESHOLD_KB if threshold is None else int(threshold)

    def _set_indexing_threshold(self, collection: str, kilobytes: int) -> None:
        # qdrant-client's local mode never indexes: it takes the setting and ignores it
        optimizers = m.OptimizersConfigDiff(indexing_threshold=kilobytes)
        self.client.update_collection(collection, optimizers_config=optimizers)

    def close(self) -> None:
        self.client.close()
        if self.created_folder is not None and not self._collection_names_on_disk():
            shutil.rmtree(self.created_folder, ignore_errors=True)  # only read: leave no empty store behind

    def _collection_names_on_disk(self) -> list[str]:
        folder = self.created_folder / "collection" if self.created_folder else None
        return [p.name for p in folder.iterdir()] if folder is not None and folder.is_dir() else []

    @contextmanager
    def _quiet_local_mode(self) -> Iterator[None]:
        """Local mode warns that payload indexes and search params have no effect there; we know."""
        if self.capabilities.remote:
            yield
            return
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"(Payload indexes|Local mode)", category=UserWarning)
            yield


def _record(record: Any) -> PointRecord:
    vectors = record.vector if isinstance(record.vector, dict) else {}
    return PointRecord(str(record.id), vectors, record.payload or {})


def _layout_like(config: m.CollectionConfig, dims: dict[str, int]) -> dict[str, Any]:
    """`create_collection` arguments for a copy of a collection of this config with vectors of `dims`: its shards,
    replicas, quantization and vector storage kept, a vector it lacks stored as its others are."""
    vectors = config.params.vectors
    params = {"": vectors} if isinstance(vectors, m.VectorParams) else dict(vectors or {})
    on_disk = True if params and all(p.on_disk for p in params.values()) else None
    new = {name: m.VectorParams(size=dim, distance=m.Distance.COSINE, on_disk=on_disk) for name, dim in dims.items()}
    return {
        "vectors_config": {name: params.get(name) or new[name] for name in dims},
        "shard_number": config.params.shard_number, "replication_factor": config.params.replication_factor,
        "write_consistency_factor": config.params.write_consistency_factor,
        "on_disk_payload": config.params.on_disk_payload, "quantization_config": config.quantization_config,
    }
