"""Qdrant's requests (qdrant_client's models) as calls of the store, and the store's answers as Qdrant's models."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from qdrant_client.http import models as m

from embedkit.errors import InvalidOptionError
from embedkit.serve.qdrant_api.errors import QdrantApiError, collection_missing, unsupported
from embedkit.store import Store
from embedkit.store.points import PointRecord, ScoredRecord

DEFAULT_LIMIT = 10
HNSW_DEFAULTS = {"m": 16, "ef_construct": 128, "full_scan_threshold": 10_000}
KINDS = {"keyword": m.PayloadSchemaType.KEYWORD, "integer": m.PayloadSchemaType.INTEGER}


def sizes_of(store: Store, collection: str) -> dict[str, int]:
    """The named vectors of `collection` and their sizes; a 404 when it does not exist."""
    try:
        sizes = store.vector_sizes(collection)
    except InvalidOptionError:  # not even a valid collection name
        sizes = {}
    if not sizes:
        raise collection_missing(collection)
    return sizes


def collection_info(store: Store, collection: str) -> m.CollectionInfo:
    sizes = sizes_of(store, collection)
    vectors = {name: m.VectorParams(size=size, distance=m.Distance.COSINE) for name, size in sizes.items()}
    indexed = store.indexed_fields(collection)
    schema = {key: m.PayloadIndexInfo(data_type=KINDS[kind], points=store.count_points(
        collection, m.Filter(must_not=[m.IsEmptyCondition(is_empty=m.PayloadField(key=key))])))
        for key, kind in indexed.items() if kind in KINDS}
    hnsw = {name: getattr(store, f"hnsw_{name}", default) for name, default in HNSW_DEFAULTS.items()}
    config = m.CollectionConfig(params=m.CollectionParams(vectors=vectors), hnsw_config=m.HnswConfig(**hnsw),
                                optimizer_config=m.OptimizersConfig(default_segment_number=0, flush_interval_sec=5))
    status = m.CollectionStatus.YELLOW if store.index_unfinished(collection) else m.CollectionStatus.GREEN
    return m.CollectionInfo(status=status, optimizer_status=m.OptimizersStatusOneOf.OK, points_count=store.count_points(
        collection), indexed_vectors_count=0, segments_count=1, config=config, payload_schema=schema)


def refuse_given(request: Any, *fields: str) -> None:
    """An unsupported field of `request` that was given answers 400, naming it."""
    for name in fields:
        if getattr(request, name, None) is not None:
            raise unsupported(f"`{name}` in {type(request).__name__}")


def payload_of(payload: dict[str, Any], selector: Any, default: bool) -> dict[str, Any] | None:
    """The part of `payload` that `with_payload` selects (top-level keys), None for none of it."""
    if selector is None:
        selector = default
    if selector is True:
        return payload
    if selector is False:
        return None
    if isinstance(selector, m.PayloadSelectorExclude):
        return {key: value for key, value in payload.items() if key not in selector.exclude}
    keys = selector.include if isinstance(selector, m.PayloadSelectorInclude) else selector
    return {key: payload[key] for key in keys if key in payload}


def vectors_of(selector: Any, sizes: dict[str, int]) -> list[str]:
    """The named vectors `with_vector` asks for."""
    if selector is None or selector is False:
        return []
    if selector is True:
        return sorted(sizes)
    unknown = [name for name in selector if name not in sizes]
    if unknown:
        raise QdrantApiError(400, f"Wrong input: Not existing vector name error: {unknown[0]}")
    return list(selector)


def record(point: PointRecord, with_payload: Any, vectors: list[str], default_payload: bool = True) -> m.Record:
    return m.Record(id=point_id_out(point.id), payload=payload_of(point.payload, with_payload, default_payload),
                    vector=_vectors(point.vectors, vectors))


def point_id_out(point_id: Any) -> int | str:
    if isinstance(point_id, uuid.UUID):
        return str(point_id)
    return int(point_id) if isinstance(point_id, str) and point_id.isdigit() else point_id


def _vectors(stored: dict[str, Any], names: list[str]) -> dict[str, list[float]] | None:
    if not names:
        return None
    return {name: [float(v) for v in stored[name]] for name in names if stored.get(name) is not None}


def query(store: Store, collection: str, request: m.QueryRequest) -> list[m.ScoredPoint]:
    """The answer of one universal query (`/points/query`): nearest by vector or by point id, or recommend."""
    refuse_given(request, "prefetch", "lookup_from", "shard_key")
    sizes = sizes_of(store, collection)
    using = request.using if request.using is not None else _default_vector(store, collection, sizes)
    if using not in sizes:
        raise QdrantApiError(400, f"Wrong input: Not existing vector name error: {using}")
    limit, offset = _count(request.limit, DEFAULT_LIMIT, "limit"), _count(request.offset, 0, "offset")
    params = request.params
    exact = bool(params.exact) if params is not None and params.exact is not None else False
    wanted = request.query
    if isinstance(wanted, m.NearestQuery):
        if wanted.mmr is not None:
            raise unsupported("`mmr` in a nearest query")
        wanted = wanted.nearest
    if isinstance(wanted, m.RecommendQuery):
        found = _recommend(store, collection, using, wanted.recommend, limit, offset, request.filter,
                           request.score_threshold, exact)
    elif _is_dense(wanted):
        found = store.nearest_points(collection, using, np.asarray(wanted, dtype=np.float32), limit=limit,
                                     offset=offset, filter=request.filter, score_threshold=request.score_threshold,
                                     exact=exact)
    elif _is_id(wanted):
        vector = store.point_vectors(collection, using, [wanted])[0]
        found = store.nearest_points(collection, using, vector, limit=limit, offset=offset, filter=request.filter,
                                     score_threshold=request.score_threshold, exact=exact, exclude_ids=[wanted])
    elif wanted is None:
        raise unsupported("a query without `query` (points in order)")
    else:
        raise unsupported(f"the query {type(wanted).__name__}")
    return scored(store, collection, found, request.with_payload, vectors_of(request.with_vector, sizes))


def scored(store: Store, collection: str, found: Sequence[ScoredRecord], with_payload: Any,
           vectors: list[str]) -> list[m.ScoredPoint]:
    stored = {}
    if vectors and found:
        stored = {str(p.id): p.vectors for p in store.retrieve_points(collection, [r.id for r in found],
                                                                        with_payload=False, vectors=vectors)}
    return [m.ScoredPoint(id=point_id_out(r.id), version=0, score=r.score,
                          payload=payload_of(r.payload, with_payload, False),
                          vector=_vectors(stored.get(str(r.id), {}), vectors)) for r in found]


def _recommend(store: Store, collection: str, using: str, given: m.RecommendInput, limit: int, offset: int,
               filter: Any, score_threshold: float | None, exact: bool) -> list[ScoredRecord]:
    examples = [*(given.positive or []), *(given.negative or [])]
    excluded = [example for example in examples if _is_id(example)]
    positive, negative = (_example_vectors(store, collection, using, part) for part in (given.positive,
                                                                                         given.negative))
    if not len(positive):
        raise QdrantApiError(400, "Bad request: a recommendation needs at least one positive example")
    strategy = given.strategy or m.RecommendStrategy.AVERAGE_VECTOR
    if strategy == m.RecommendStrategy.BEST_SCORE:
        return store.recommend_points(collection, using, positive, negative, limit=limit, offset=offset,
                                      filter=filter, score_threshold=score_threshold, exclude_ids=excluded)
    if strategy != m.RecommendStrategy.AVERAGE_VECTOR:
        raise unsupported(f"the recommend strategy {strategy.value}")
    average = positive.mean(axis=0)
    target = average + (average - negative.mean(axis=0)) if len(negative) else average
    return store.nearest_points(collection, using, target, limit=limit, offset=offset, filter=filter,
                                score_threshold=score_threshold, exact=exact, exclude_ids=excluded)


def _example_vectors(store: Store, collection: str, using: str, examples: list[Any] | None) -> np.ndarray:
    rows = []
    for example in examples or []:
        if _is_id(example):
            rows.append(store.point_vectors(collection, using, [example])[0])
        elif _is_dense(example):
            rows.append(np.asarray(example, dtype=np.float32))
        else:
            raise unsupported(f"the example {type(example).__name__} (give point ids or dense vectors)")
    size = store.vector_sizes(collection)[using]
    for row in rows:
        if row.shape != (size,):
            raise QdrantApiError(400, f"Wrong input: Vector dimension error: expected dim: {size}, got "
                                      f"{row.shape[0]}")
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), size)


def _default_vector(store: Store, collection: str, sizes: dict[str, int]) -> str:
    """The vector a request without `using` searches: the only one, else the collection's default."""
    if len(sizes) == 1:
        return next(iter(sizes))
    default = store.default_vector(collection)
    if default in sizes:
        return str(default)
    raise QdrantApiError(400, f"Wrong input: collection `{collection}` has several vectors "
                              f"({', '.join(sorted(sizes))}); name one with `using`")


def _count(value: int | None, default: int, name: str) -> int:
    if value is None:
        return default
    if value < 0:
        raise QdrantApiError(400, f"Bad request: `{name}` must be 0 or more, not {value}")
    return int(value)


def _is_dense(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                           for v in value)


def _is_id(value: Any) -> bool:
    return isinstance(value, (str, uuid.UUID)) or (isinstance(value, int) and not isinstance(value, bool))
