"""The Qdrant API as an application of its own: mounted under /qdrant in embedkit's server, or served on a port of
its own. Anything of Qdrant's API it does not serve answers Qdrant-style, naming the method and path."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request

from embedkit._version import __version__
from embedkit.serve.guard import RequestGuard
from embedkit.serve.headers import SecurityHeaders
from embedkit.serve.qdrant_api.access import check_key
from embedkit.serve.qdrant_api.collections import collections, service, version
from embedkit.serve.qdrant_api.errors import QdrantApiError, install
from embedkit.serve.qdrant_api.points import facets, points
from embedkit.serve.qdrant_api.state import QdrantApiState
from embedkit.serve.qdrant_api.writes import writes
from embedkit.serve.settings import ServeSettings
from embedkit.store import Store

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_qdrant_app(store: Store, settings: ServeSettings, guarded: bool = False) -> FastAPI:
    """Qdrant's REST API over the collections of `store` (opened and closed by the caller); `guarded` when it is
    served on a port of its own, where it checks the Host, the key and the body limits itself (as the server it is
    mounted in does otherwise)."""
    app = FastAPI(title="embedkit: Qdrant's REST API", version=__version__, docs_url=None,
                  redoc_url=None,  # FastAPI's pages load Swagger UI and ReDoc from a CDN, which the CSP blocks
                  description="Qdrant's REST API over an embedkit store: read any collection, write where allowed.")
    app.state.qdrant = QdrantApiState(store, settings)
    install(app)

    def key(request: Request) -> None:
        check_key(settings, request)

    app.include_router(service)
    for router in (collections, facets, points, writes):
        app.include_router(router, dependencies=[Depends(key)])

    @app.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    def not_served(request: Request, path: str) -> None:
        check_key(settings, request)
        raise QdrantApiError(404, f"Not found: {request.method} /{path} is not part of Qdrant's API that embedkit "
                                  f"serves (docs/qdrant-api.md lists what is)")

    if guarded:
        app.add_middleware(SecurityHeaders)
        app.add_middleware(RequestGuard, settings=settings, qdrant_paths=("/",))
    return app


def mount_qdrant_api(app: FastAPI, store: Store, settings: ServeSettings, prefix: str) -> None:
    """Serve the Qdrant API under `prefix` of `app`; `prefix` itself (no slash: what Qdrant's clients ask for their
    version check) answers the version."""
    app.add_api_route(prefix, version, include_in_schema=False)
    app.mount(prefix, create_qdrant_app(store, settings), name="qdrant")
