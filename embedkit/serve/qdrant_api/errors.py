"""How a failure answers Qdrant-style: its status code and `{"status": {"error": "..."}}`, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from embedkit.errors import (EmbedkitError, SampleNotFoundError, StoreLockedError, StoreReadOnlyError,
                             StoreUnavailableError, first_line)
from embedkit.serve.qdrant_api.envelope import failure

log = logging.getLogger(__name__)

STATUS = ((SampleNotFoundError, 404, "Not found"), (StoreReadOnlyError, 403, "Forbidden"),
          (StoreLockedError, 503, "Service unavailable"), (StoreUnavailableError, 503, "Service unavailable"),
          (EmbedkitError, 400, "Bad request"))
"""The first class an embedkit error is an instance of gives its status and the prefix Qdrant gives such errors."""


class QdrantApiError(Exception):
    """A request this API answers with `status` and `message` in Qdrant's error body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers


def unsupported(what: str) -> QdrantApiError:
    """The answer to a part of Qdrant's API that embedkit does not serve, naming it."""
    return QdrantApiError(400, f"Bad request: {what} is not supported by embedkit's Qdrant API "
                               f"(docs/qdrant-api.md lists what is)")


def collection_missing(collection: str) -> QdrantApiError:
    return QdrantApiError(404, f"Not found: Collection `{collection}` doesn't exist!")


def install(app: FastAPI) -> None:
    """Answer every failure of `app` in Qdrant's error body."""

    @app.exception_handler(QdrantApiError)
    async def api_error(request: Request, error: QdrantApiError) -> JSONResponse:
        return failure(error.status, str(error), headers=error.headers)

    @app.exception_handler(EmbedkitError)
    async def embedkit_error(request: Request, error: EmbedkitError) -> JSONResponse:
        status, prefix = next((status, prefix) for kind, status, prefix in STATUS if isinstance(error, kind))
        return failure(status, f"{prefix}: {first_line(error)}")

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return failure(400, f"Format error in JSON body: {first.get('msg', 'malformed')}"
                            f"{f' at {where}' if where else ''} ({len(problems)} problem{'s' * (len(problems) != 1)})")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return failure(error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:  # a bug: said, and logged with its cause
        log.exception("the Qdrant API failed on %s %s", request.method, request.url.path)
        return failure(500, f"Service internal error: {first_line(error)}")
