"""The FastAPI application: the API under /api, the web page at /, errors as one-line JSON details."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from embedkit._version import __version__
from embedkit.errors import (EmbedkitError, ImageLoadError, PreprocessingError, SampleNotFoundError,
                             StoreLockedError, StoreReadError, StoreUnavailableError, UnknownNameError,
                             WeightsUnavailableError, first_line)
from embedkit.plugins import load_routes
from embedkit.serve.docs import add_docs
from embedkit.serve.guard import KEY_MESSAGE, RequestGuard, has_key
from embedkit.serve.headers import SecurityHeaders
from embedkit.serve.schemas import ErrorOut, HealthOut
from embedkit.serve.settings import ServeSettings
from embedkit.serve.state import ServerState
from embedkit.serve.uploads import EmptyUploadError, UploadTooLargeError
from embedkit.store import Store
from embedkit.store.urls import redacted

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
STATUS = ((SampleNotFoundError, 404), (UnknownNameError, 404), (UploadTooLargeError, 413), (ImageLoadError, 415),
          (PreprocessingError, 422), (StoreLockedError, 503), (StoreUnavailableError, 503), (StoreReadError, 503),
          (WeightsUnavailableError, 503), (EmptyUploadError, 400), (EmbedkitError, 400))
"""The first class an error is an instance of gives its HTTP status."""
QDRANT_PREFIX = "/qdrant"
"""Where Qdrant's REST API answers (embedkit/serve/qdrant_api/)."""
ERRORS = {status: {"model": ErrorOut} for status in (400, 401, 403, 404, 413, 415, 503)}


def status_of(error: EmbedkitError) -> int:
    return next(status for kind, status in STATUS if isinstance(error, kind))


def create_app(store: Store, settings: ServeSettings | None = None) -> FastAPI:
    """The server of `store` (opened by the caller, who closes it after the server stops)."""
    settings = settings or ServeSettings()
    app = FastAPI(title="embedkit", version=__version__, description="Search embedkit collections by image, "
                  "stored id, text or examples; embed images as a collection's vectors were embedded.",
                  responses=ERRORS, docs_url=None, redoc_url=None)  # /docs from local assets: add_docs
    app.state.server = ServerState.open(store, settings)

    def check_key(request: Request) -> None:  # the guard checks it first; a plugin's routes are checked again here
        if not has_key(settings.api_key, request.scope, request.headers):
            raise MissingKeyError(KEY_MESSAGE)

    @app.get("/api/health", response_model=HealthOut, summary="Whether the server is up, and what it serves")
    def health() -> HealthOut:
        return HealthOut(status="ok", version=__version__, store=redacted(store.location),
                         encoders_loaded=app.state.server.encoders.names())

    @app.exception_handler(EmbedkitError)
    async def embedkit_error(request: Request, error: EmbedkitError) -> JSONResponse:
        return JSONResponse({"detail": first_line(error)}, status_code=status_of(error))

    @app.exception_handler(MissingKeyError)
    async def missing_key(request: Request, error: MissingKeyError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=401, headers={"WWW-Authenticate": "X-API-Key"})

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_docs(app)
    if settings.qdrant_api:
        from embedkit.serve.qdrant_api import mount_qdrant_api

        mount_qdrant_api(app, store, settings, QDRANT_PREFIX)
    routes = APIRouter()  # after the server's own routes, which no plugin may shadow
    load_routes(routes)
    app.include_router(routes, dependencies=[Depends(check_key)])
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestGuard, settings=settings,  # outermost: Host, key and body limits before any read
                       qdrant_paths=(QDRANT_PREFIX,) if settings.qdrant_api else ())
    return app


class MissingKeyError(Exception):
    """A request without the server's API key (401)."""
