"""Where a store lives: a location string or path -> the backend that opens it; and how a location is shown."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from embedkit._version import __version__
from embedkit.errors import InvalidOptionError
from embedkit.store.base import Store
from embedkit.store.collection_options import CollectionOptions
from embedkit.store.urls import redacted, url_scheme

MEMORY = ":memory:"
CLIENT_LOCAL_PREFIX = "local:"
SERVER_SCHEMES = ("http", "https")
ACCEPTED = "a folder, a Qdrant server http(s)://HOST:PORT, :memory: or local:PATH"
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:\d+/?$")  # localhost:6333, written without its scheme


def default_store_path() -> Path:
    """$EMBEDKIT_HOME/qdrant, else the platform's user data directory + embedkit/qdrant."""
    home = os.environ.get("EMBEDKIT_HOME")
    if home:
        return Path(home).expanduser() / "qdrant"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "embedkit" / "qdrant"


def check_location(text: str) -> str:
    """What kind of store `text` names: "server", "memory", "local" or "folder"; InvalidOptionError when it
    names none (an empty string, a URL scheme embedkit does not read, HOST:PORT without its scheme)."""
    if not text.strip():
        raise InvalidOptionError(f"the store location is empty; give {ACCEPTED}, or leave it out for the "
                                 f"default store in {default_store_path()}")
    name = url_scheme(text)
    if name is not None:
        if name in SERVER_SCHEMES:
            return "server"
        hint = "; for gRPC write http(s)://HOST:6334 and pass --grpc" if name.startswith("grpc") else ""
        raise InvalidOptionError(f"the store location {redacted(text)!r} is a URL of scheme {name}://, which "
                                 f"embedkit does not read; give {ACCEPTED}{hint}")
    if re.match(r"^https?:", text, re.IGNORECASE):
        raise InvalidOptionError(f"the store location {redacted(text)!r} is not a URL; write http(s)://HOST:PORT")
    if _HOST_PORT.match(text):
        raise InvalidOptionError(f"the store location {text!r} looks like a server without its scheme; write "
                                 f"http://{text.rstrip('/')} (or ./{text} for a folder of that name)")
    if text == MEMORY:
        return "memory"
    if text.startswith(CLIENT_LOCAL_PREFIX):
        if not text[len(CLIENT_LOCAL_PREFIX):].strip():
            raise InvalidOptionError("the store location 'local:' names no folder; write local:PATH")
        return "local"
    return "folder"


def open_store(location: str | Path | None = None, *, grpc: bool = False, api_key: str | None = None,
               collection_options: CollectionOptions | None = None) -> Store:
    """Open a store; the collections it creates are laid out as `collection_options` says (shards and replicas
    only on a server: the embedded store refuses them here).

    - None: the embedded Qdrant Edge store in `default_store_path()`;
    - a directory path: an embedded Qdrant Edge store there (created by the first write, not by a read);
    - "http(s)://host:port": a Qdrant server through qdrant-client (REST, or gRPC with grpc=True; the API key
      defaults to $QDRANT_API_KEY, or to the URL's `?api_key=`);
    - ":memory:" or "local:PATH": qdrant-client's own local mode (brute force; for tests and small data).

    Anything else (an empty string, another URL scheme) raises InvalidOptionError.
    """
    if location is None:
        location = default_store_path()
    text = str(location)
    kind = check_location(text)
    if kind == "server":
        from embedkit.store.client.store import ClientStore

        key = api_key if api_key is not None else os.environ.get("QDRANT_API_KEY") or None
        client_store = ClientStore.connect(text, grpc=grpc, api_key=key, embedkit_version=__version__)
    elif kind in ("memory", "local"):
        from embedkit.store.client.store import ClientStore

        path = None if kind == "memory" else text[len(CLIENT_LOCAL_PREFIX):]
        client_store = ClientStore.local(path, embedkit_version=__version__)
    else:
        from embedkit.store.edge.store import EdgeStore

        return EdgeStore(location, embedkit_version=__version__, collection_options=collection_options)
    if collection_options is not None:
        client_store.collection_options = collection_options
    return client_store


@contextmanager
def using_store(store: Store | str | Path | None, *,
                collection_options: CollectionOptions | None = None) -> Iterator[Store]:
    """An open Store as it is (its owner closes it), or a location opened here and closed afterwards; with
    `collection_options`, the collections created meanwhile are laid out so."""
    if isinstance(store, Store):
        before = store.collection_options
        store.collection_options = collection_options or before
        try:
            yield store
        finally:
            store.collection_options = before
        return
    opened = open_store(store, collection_options=collection_options)
    try:
        yield opened
    finally:
        opened.close()
