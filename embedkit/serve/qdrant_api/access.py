"""Who may call the Qdrant API: the server's access key, sent as Qdrant's `api-key` header (what Qdrant's
clients send for `api_key=`), `Authorization: Bearer KEY`, embedkit's `X-API-Key` or `?api_key=`; and writes,
only where the server allows them and has a key."""

from __future__ import annotations

from fastapi import Request

from embedkit.serve.guard import QDRANT_KEY_MESSAGE, has_key
from embedkit.serve.qdrant_api.errors import QdrantApiError
from embedkit.serve.settings import ServeSettings


def check_key(settings: ServeSettings, request: Request) -> None:
    if not has_key(settings.api_key, request.scope, request.headers):
        raise QdrantApiError(401, QDRANT_KEY_MESSAGE, headers={"WWW-Authenticate": "api-key"})


def check_writes(settings: ServeSettings) -> None:
    if not (settings.qdrant_api_writes and settings.api_key):
        raise QdrantApiError(403, "Forbidden: this server's Qdrant API is read-only; writes need `embedkit serve "
                                  "--access-key KEY --qdrant-api-writes`")
