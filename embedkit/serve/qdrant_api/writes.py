"""Qdrant's routes that write points: upsert, delete, set/overwrite/delete payload. Only on a server with an
access key that allows them; one at a time, through the store's own writes, which refuse whatever would break
embedkit's records (embedkit/store/point_writes.py)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from qdrant_client.http import models as m

from embedkit.serve.qdrant_api.access import check_writes
from embedkit.serve.qdrant_api.envelope import answer
from embedkit.serve.qdrant_api.errors import unsupported
from embedkit.serve.qdrant_api.state import state
from embedkit.serve.qdrant_api.translate import refuse_given, sizes_of
from embedkit.store.point_writes import NewPoint

writes = APIRouter(prefix="/collections/{collection_name}/points")


@writes.put("", summary="Write points (their vectors set, their payloads merged)")
def upsert_points(request: Request, collection_name: str, body: m.PointInsertOperations) -> JSONResponse:
    started = time.perf_counter()
    refuse_given(body, "shard_key", "update_filter", "update_mode")
    new = _points(body)
    return _written(request, collection_name, lambda server: server.store.write_points(collection_name, new), started)


@writes.post("/delete", summary="Delete points by id or by filter")
def delete_points(request: Request, collection_name: str, body: m.PointsSelector) -> JSONResponse:
    started = time.perf_counter()
    refuse_given(body, "shard_key")
    ids, filter = _selection(body)
    return _written(request, collection_name,
                    lambda server: server.store.delete_points(collection_name, ids=ids, filter=filter), started)


@writes.post("/payload", summary="Merge a payload into points' payloads")
def set_payload(request: Request, collection_name: str, body: m.SetPayload) -> JSONResponse:
    return _payload(request, collection_name, body, overwrite=False)


@writes.put("/payload", summary="Replace points' payloads (each keeps its sample_id)")
def overwrite_payload(request: Request, collection_name: str, body: m.SetPayload) -> JSONResponse:
    return _payload(request, collection_name, body, overwrite=True)


@writes.post("/payload/delete", summary="Remove payload keys from points")
def delete_payload(request: Request, collection_name: str, body: m.DeletePayload) -> JSONResponse:
    started = time.perf_counter()
    refuse_given(body, "shard_key")
    return _written(request, collection_name, lambda server: server.store.delete_points_payload(
        collection_name, body.keys, ids=body.points, filter=body.filter), started)


def _payload(request: Request, collection_name: str, body: m.SetPayload, *, overwrite: bool) -> JSONResponse:
    started = time.perf_counter()
    refuse_given(body, "shard_key", "key")
    return _written(request, collection_name, lambda server: server.store.set_points_payload(
        collection_name, body.payload, ids=body.points, filter=body.filter, overwrite=overwrite), started)


def _written(request: Request, collection: str, write: Any, started: float) -> JSONResponse:
    server = state(request)
    check_writes(server.settings)
    sizes_of(server.store, collection)
    with server.writing:
        write(server)
        operation = next(server.operations)
    return answer(m.UpdateResult(operation_id=operation, status=m.UpdateStatus.COMPLETED), started)


def _points(body: m.PointInsertOperations) -> list[NewPoint]:
    if isinstance(body, m.PointsList):
        return [NewPoint(point.id, _named(point.vector), point.payload or {}) for point in body.points]
    batch = body.batch
    if not isinstance(batch.vectors, dict):
        raise unsupported("a batch of unnamed vectors (embedkit's vectors are named)")
    payloads = batch.payloads or [{} for _ in batch.ids]
    columns = {name: list(rows) for name, rows in batch.vectors.items()}
    if len(payloads) != len(batch.ids) or any(len(rows) != len(batch.ids) for rows in columns.values()):
        raise unsupported("a batch whose ids, vectors and payloads differ in length")
    return [NewPoint(point_id, {name: rows[i] for name, rows in columns.items()}, payloads[i] or {})
            for i, point_id in enumerate(batch.ids)]


def _named(vector: Any) -> dict[str, Any]:
    return vector if isinstance(vector, dict) else {}


def _selection(body: m.PointsSelector) -> tuple[list[Any] | None, m.Filter | None]:
    if isinstance(body, m.PointIdsList):
        return list(body.points), None
    return None, body.filter
