"""Where a store lives: a location string or path -> the backend that opens it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from embedkit._version import __version__
from embedkit.store.base import Store

MEMORY = ":memory:"
CLIENT_LOCAL_PREFIX = "local:"


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


def open_store(location: str | Path | None = None, *, grpc: bool = False, api_key: str | None = None) -> Store:
    """Open a store.

    - None: the embedded Qdrant Edge store in `default_store_path()`;
    - a directory path: an embedded Qdrant Edge store there;
    - "http(s)://host:port": a Qdrant server through qdrant-client (REST, or gRPC with grpc=True; the API key
      defaults to $QDRANT_API_KEY);
    - ":memory:" or "local:PATH": qdrant-client's own local mode (brute force; for tests and small data).
    """
    if location is None:
        location = default_store_path()
    text = str(location)
    if text.startswith(("http://", "https://")):
        from embedkit.store.client import ClientStore

        key = api_key if api_key is not None else os.environ.get("QDRANT_API_KEY") or None
        return ClientStore.connect(text, grpc=grpc, api_key=key, embedkit_version=__version__)
    if text == MEMORY or text.startswith(CLIENT_LOCAL_PREFIX):
        from embedkit.store.client import ClientStore

        path = None if text == MEMORY else text[len(CLIENT_LOCAL_PREFIX):]
        return ClientStore.local(path, embedkit_version=__version__)
    from embedkit.store.edge import EdgeStore

    return EdgeStore(location, embedkit_version=__version__)


@contextmanager
def using_store(store: Store | str | Path | None) -> Iterator[Store]:
    """An open Store as it is (its owner closes it), or a location opened here and closed afterwards."""
    if isinstance(store, Store):
        yield store
        return
    opened = open_store(store)
    try:
        yield opened
    finally:
        opened.close()
