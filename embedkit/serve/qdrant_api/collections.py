"""Qdrant's service and collection routes: version, health, list, info, exists."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from qdrant_client.http import models as m

from embedkit.errors import InvalidOptionError
from embedkit.serve.qdrant_api.envelope import answer
from embedkit.serve.qdrant_api.state import state
from embedkit.serve.qdrant_api.translate import collection_info
from embedkit.serve.qdrant_api.version import QDRANT_VERSION

service = APIRouter()
"""Routes without the access key, as on a Qdrant server."""
collections = APIRouter()


@service.get("/", summary="The version of Qdrant's API this serves")
def version() -> JSONResponse:
    info = m.VersionInfo(title="qdrant - vector search engine (embedkit)", version=QDRANT_VERSION)
    return JSONResponse(info.model_dump(mode="json", exclude_none=True))


@service.get("/healthz", summary="Whether the server is up")
@service.get("/livez", include_in_schema=False)
@service.get("/readyz", include_in_schema=False)
def healthz() -> PlainTextResponse:
    return PlainTextResponse("healthz check passed")


@collections.get("/collections", summary="The collections of the store")
def list_collections(request: Request) -> JSONResponse:
    started = time.perf_counter()
    names = sorted(info.name for info in state(request).store.collections())
    return answer(m.CollectionsResponse(collections=[m.CollectionDescription(name=name) for name in names]), started)


@collections.get("/collections/{collection_name}", summary="A collection's vectors, point count and status")
def get_collection(request: Request, collection_name: str) -> JSONResponse:
    started = time.perf_counter()
    return answer(collection_info(state(request).store, collection_name), started)


@collections.get("/collections/{collection_name}/exists", summary="Whether the collection exists")
def collection_exists(request: Request, collection_name: str) -> JSONResponse:
    started = time.perf_counter()
    try:
        exists = bool(state(request).store.vector_sizes(collection_name))
    except InvalidOptionError:  # not even a valid collection name
        exists = False
    return answer(m.CollectionExistence(exists=exists), started)
