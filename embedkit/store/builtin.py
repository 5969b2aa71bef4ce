"""The built-in store backends, registered through the same hook as any plugin's: Qdrant Edge in a folder, a Qdrant
server, and qdrant-client's local mode. Registering imports neither qdrant-edge nor qdrant-client: opening a store
imports the one it needs."""

from __future__ import annotations

import os
from collections.abc import Callable

from embedkit._version import __version__
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.store import client, edge
from embedkit.store.base import Store
from embedkit.store.collection_options import CollectionOptions

MEMORY = ":memory:"
LOCAL_PREFIX = "local:"
API_KEY_ENV = "QDRANT_API_KEY"


def open_edge(location: str, *, grpc: bool = False, api_key: str | None = None,
              collection_options: CollectionOptions | None = None) -> Store:
    """An embedded Qdrant Edge store in the folder `location` (made by the first write, not by a read); `grpc` and
    `api_key` are a server's."""
    from embedkit.store.edge.store import EdgeStore

    return EdgeStore(location, embedkit_version=__version__, collection_options=collection_options)


def open_server(location: str, *, grpc: bool = False, api_key: str | None = None,
                collection_options: CollectionOptions | None = None) -> Store:
    """A Qdrant server at the URL `location`, over REST or gRPC; the API key defaults to $QDRANT_API_KEY (a key in
    the URL, `?api_key=`, goes first)."""
    from embedkit.store.client.store import ClientStore

    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
    return ClientStore.connect(location, grpc=grpc, api_key=key, embedkit_version=__version__,
                               collection_options=collection_options)


def opens_local(location: str) -> bool:
    return location == MEMORY or location.startswith(LOCAL_PREFIX)


def open_local(location: str, *, grpc: bool = False, api_key: str | None = None,
               collection_options: CollectionOptions | None = None) -> Store:
    """qdrant-client's local mode: in memory (`:memory:`) or in a folder (`local:PATH`)."""
    from embedkit.store.client.store import ClientStore

    path = None if location == MEMORY else location[len(LOCAL_PREFIX):]
    if path is not None and not path.strip():
        raise InvalidOptionError("the store location 'local:' names no folder; write local:PATH")
    return ClientStore.local(path, embedkit_version=__version__, collection_options=collection_options)


@hookimpl
def register_stores(register: Callable[..., None]) -> None:
    register("edge", open_edge, folders=True, locations="a folder", capabilities=edge.CAPABILITIES,
             description="Qdrant Edge, embedded: one shard folder per collection, one process at a time")
    register("server", open_server, schemes=("http", "https"), locations="a Qdrant server http(s)://HOST:PORT",
             capabilities=client.SERVER, description="a Qdrant server through qdrant-client (REST, or gRPC)")
    register("local", open_local, opens=opens_local, locations=f"{MEMORY} or {LOCAL_PREFIX}PATH",
             capabilities=client.LOCAL,
             description="qdrant-client's local mode, in memory or in a folder (brute force: tests, small data)")
