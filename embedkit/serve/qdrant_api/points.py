"""Qdrant's routes that read points: retrieve, scroll, count, facet, the universal query (one and batched), and
the older search (one and batched) as the query it is."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from qdrant_client.http import models as m

from embedkit.serve.qdrant_api.envelope import answer
from embedkit.serve.qdrant_api.errors import QdrantApiError
from embedkit.serve.qdrant_api.state import state
from embedkit.serve.qdrant_api.translate import (DEFAULT_LIMIT, point_id_out, query, record, refuse_given, sizes_of,
                                                 vectors_of)

points = APIRouter(prefix="/collections/{collection_name}/points")
facets = APIRouter(prefix="/collections/{collection_name}")


@points.post("", summary="Points by id")
def get_points(request: Request, collection_name: str, body: m.PointRequest) -> JSONResponse:
    started = time.perf_counter()
    refuse_given(body, "shard_key")
    store = state(request).store
    vectors = vectors_of(body.with_vector, sizes_of(store, collection_name))
    found = store.retrieve_points(collection_name, body.ids, with_payload=body.with_payload is not False,
                                  vectors=vectors)
    return answer([record(p, body.with_payload, vectors) for p in found], started)


@points.get("/{point_id}", summary="One point by id")
def get_point(request: Request, collection_name: str, point_id: str) -> JSONResponse:
    started = time.perf_counter()
    store = state(request).store
    sizes = sizes_of(store, collection_name)
    given: Any = int(point_id) if point_id.isdigit() else point_id
    found = store.retrieve_points(collection_name, [given], vectors=sorted(sizes))
    if not found:
        raise QdrantApiError(404, f"Not found: No point with id {point_id} found")
    return answer(record(found[0], True, sorted(sizes)), started)


@points.post("/scroll", summary="Points matching a filter, page by page in id order")
def scroll_points(request: Request, collection_name: str, body: m.ScrollRequest = Body(default=None)) -> JSONResponse:
    started = time.perf_counter()
    body = body or m.ScrollRequest()
    refuse_given(body, "shard_key", "order_by")
    store = state(request).store
    vectors = vectors_of(body.with_vector, sizes_of(store, collection_name))
    limit = DEFAULT_LIMIT if body.limit is None else body.limit
    if limit < 1:
        raise QdrantApiError(400, f"Bad request: `limit` must be 1 or more, not {limit}")
    found, next_offset = store.scroll_points(collection_name, filter=body.filter, limit=limit, offset=body.offset,
                                             with_payload=body.with_payload is not False, vectors=vectors)
    result = m.ScrollResult(points=[record(p, body.with_payload, vectors) for p in found],
                            next_page_offset=None if next_offset is None else point_id_out(next_offset))
    return answer(result, started)


@points.post("/count", summary="How many points match a filter")
def count_points(request: Request, collection_name: str, body: m.CountRequest = Body(default=None)) -> JSONResponse:
    started = time.perf_counter()
    body = body or m.CountRequest()
    refuse_given(body, "shard_key")
    store = state(request).store
    sizes_of(store, collection_name)
    return answer(m.CountResult(count=store.count_points(collection_name, body.filter)), started)


@facets.post("/facet", summary="The most frequent values of an indexed payload field")
def facet(request: Request, collection_name: str, body: m.FacetRequest) -> JSONResponse:
    started = time.perf_counter()
    refuse_given(body, "shard_key")
    store = state(request).store
    sizes_of(store, collection_name)
    limit = DEFAULT_LIMIT if body.limit is None else body.limit
    if limit < 1:
        raise QdrantApiError(400, f"Bad request: `limit` must be 1 or more, not {limit}")
    hits = store.facet_points(collection_name, body.key, limit=limit, filter=body.filter)
    return answer(m.FacetResponse(hits=[m.FacetValueHit(value=value, count=count) for value, count in hits]), started)


@points.post("/query", summary="The universal query: nearest by vector or by point id, or recommend")
def query_points(request: Request, collection_name: str, body: m.QueryRequest) -> JSONResponse:
    started = time.perf_counter()
    found = query(state(request).store, collection_name, body)
    return answer(m.QueryResponse(points=found), started)


@points.post("/query/batch", summary="Several universal queries")
def query_batch(request: Request, collection_name: str, body: m.QueryRequestBatch) -> JSONResponse:
    started = time.perf_counter()
    store = state(request).store
    return answer([m.QueryResponse(points=query(store, collection_name, one)) for one in body.searches], started)


@points.post("/search", summary="Search (Qdrant's older API): the nearest query it is")
def search(request: Request, collection_name: str, body: dict[str, Any]) -> JSONResponse:
    started = time.perf_counter()
    return answer(query(state(request).store, collection_name, _as_query(body)), started)


@points.post("/search/batch", summary="Several searches (Qdrant's older API)")
def search_batch(request: Request, collection_name: str, body: dict[str, Any]) -> JSONResponse:
    started = time.perf_counter()
    searches = body.get("searches")
    if not isinstance(searches, list) or not all(isinstance(one, dict) for one in searches):
        raise QdrantApiError(400, "Format error in JSON body: `searches` must be a list of search requests")
    store = state(request).store
    return answer([query(store, collection_name, _as_query(one)) for one in searches], started)


def _as_query(search: dict[str, Any]) -> m.QueryRequest:
    """An older search request (`vector`: a vector, or `{"name", "vector"}`) as the query request it is."""
    fields = dict(search)
    vector = fields.pop("vector", None)
    if isinstance(vector, dict):
        fields["using"], vector = vector.get("name"), vector.get("vector")
    if vector is None:
        raise QdrantApiError(400, "Format error in JSON body: missing field `vector`")
    try:
        return m.QueryRequest.model_validate({**fields, "query": vector})
    except ValidationError as error:
        raise QdrantApiError(400, f"Format error in JSON body: {error.errors()[0]['msg']}") from error
