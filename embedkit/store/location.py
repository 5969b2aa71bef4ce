"""Where a store lives: a location (a folder, a URL, ...) -> the registered backend that opens it."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from embedkit.errors import EmbedkitError, InvalidOptionError
from embedkit.plugins import load_registry
from embedkit.registry import Entry, Registry
from embedkit.store.backend import backend_failure
from embedkit.store.base import Store
from embedkit.store.collection_options import CollectionOptions
from embedkit.store.urls import redacted, url_scheme

STORES: Registry[Store] = Registry("store backend", lambda registry: load_registry("register_stores", registry))
"""The store backends by name, each with the locations it opens and its capabilities, registered by the plugins'
`register_stores` hooks (the built-in ones: embedkit/store/builtin.py)."""

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


def store_backend(location: str) -> Entry[Store]:
    """The registered backend that opens `location`: the one whose `schemes` hold its URL scheme, else one whose
    `opens(location)` is true, else the one that opens folders. InvalidOptionError when none does: an empty
    location, a URL of a scheme no backend opens, HOST:PORT without its scheme."""
    if not location.strip():
        raise InvalidOptionError(f"the store location is empty; give {accepted()}, or leave it out for the "
                                 f"default store in {default_store_path()}")
    backends = STORES.entries()
    scheme = url_scheme(location)
    if scheme is not None:
        for entry in backends:
            if scheme in entry.info.get("schemes", ()):
                return entry
        hint = "; for gRPC write http(s)://HOST:6334 and pass --grpc" if scheme.startswith("grpc") else ""
        raise InvalidOptionError(f"the store location {redacted(location)!r} is a URL of scheme {scheme}://, which "
                                 f"embedkit does not read; give {accepted()}{hint}")
    if re.match(r"^https?:", location, re.IGNORECASE):
        raise InvalidOptionError(f"the store location {redacted(location)!r} is not a URL; write http(s)://HOST:PORT")
    if _HOST_PORT.match(location):
        raise InvalidOptionError(f"the store location {location!r} looks like a server without its scheme; write "
                                 f"http://{location.rstrip('/')} (or ./{location} for a folder of that name)")
    for entry in backends:
        opens = entry.info.get("opens")
        if opens is not None and opens(location):
            return entry
    for entry in backends:
        if entry.info.get("folders"):
            return entry
    raise InvalidOptionError(f"no store backend opens a folder ({location!r}); give {accepted()}")


def accepted() -> str:
    """The locations the registered backends open, as a message lists them: folders, URLs, then the others."""
    def order(entry: Entry[Store]) -> tuple[int, str]:
        return (0 if entry.info.get("folders") else 1 if entry.info.get("schemes") else 2), entry.name

    return ", ".join(str(entry.info.get("locations", entry.name)) for entry in sorted(STORES.entries(), key=order))


def open_store(location: str | Path | None = None, *, grpc: bool = False, api_key: str | None = None,
               collection_options: CollectionOptions | None = None) -> Store:
    """Open a store with the registered backend that opens `location` (`store_backend`); the collections it
    creates are laid out as `collection_options` says (shards and replicas only on a server: the embedded store
    refuses them here). The built-in backends (docs/store.md):

    - None: the embedded Qdrant Edge store in `default_store_path()`;
    - a directory path: an embedded Qdrant Edge store there (created by the first write, not by a read);
    - "http(s)://host:port": a Qdrant server through qdrant-client (REST, or gRPC with grpc=True; the API key
      defaults to $QDRANT_API_KEY, or to the URL's `?api_key=`);
    - ":memory:" or "local:PATH": qdrant-client's own local mode (brute force; for tests and small data).

    Anything else (an empty string, another URL scheme) raises InvalidOptionError; a backend's library that
    fails to open it, StoreBackendError (as its primitives do). What the opened store can do is
    `store.capabilities`.
    """
    text = str(default_store_path() if location is None else location)
    backend = store_backend(text)
    try:
        return backend.factory(text, grpc=grpc, api_key=api_key, collection_options=collection_options)
    except EmbedkitError:
        raise
    except Exception as error:
        raise backend_failure(error) from error


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
