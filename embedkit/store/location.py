"""Where a store lives: a location string or path -> the backend that opens it; and how a location is shown."""

from __future__ import annotations

import base64
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from embedkit._version import __version__
from embedkit.errors import InvalidOptionError
from embedkit.store.base import Store
from embedkit.store.collection_options import CollectionOptions

MEMORY = ":memory:"
CLIENT_LOCAL_PREFIX = "local:"
SERVER_SCHEMES = ("http", "https")
ACCEPTED = "a folder, a Qdrant server http(s)://HOST:PORT, :memory: or local:PATH"
API_KEY_PARAMETERS = ("api_key", "api-key")
HIDDEN = "***"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
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


def redacted(location: str | Path) -> str:
    """`location` as it may be shown (logs, errors, result files): in a URL, the user name and password
    (`user:password@`) and every query value (`?api_key=KEY`) become ***; a path stays as it is.

    Errs on the side of hiding: everything up to the URL's last `@` counts as credentials."""
    text = str(location)
    scheme = _SCHEME.match(text)
    if scheme is None:
        return text
    rest = text[scheme.end():]
    if "@" in rest:
        rest = f"{HIDDEN}@{rest.rpartition('@')[2]}"
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, tail = rest[:cut], rest[cut:]
    if tail.startswith("?"):
        query, hash_sign, _ = tail[1:].partition("#")
        parts = [f"{p.partition('=')[0]}={HIDDEN}" if "=" in p else HIDDEN for p in query.split("&") if p]
        tail = "?" + "&".join(parts) + (f"#{HIDDEN}" if hash_sign else "")
    elif tail:
        tail = f"#{HIDDEN}"
    return text[: scheme.end()] + head + tail


@dataclass(frozen=True)
class ServerURL:
    """A Qdrant server URL taken apart: what qdrant-client is given (no credentials, no query), what is shown,
    and the credentials the URL carried (an `?api_key=KEY`, a `user:password@` sent as HTTP basic auth)."""

    url: str
    shown: str
    api_key: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        if self.basic_auth is None:
            return {}
        token = base64.b64encode(":".join(self.basic_auth).encode()).decode()
        return {"authorization": f"Basic {token}"}

    def scrub(self, text: str, *secrets: str | None) -> str:
        """`text` with the URL's credentials (and `secrets`) replaced by ***, for quoting another library's error."""
        hidden = [self.api_key, *(self.basic_auth or ()), *self.headers().values(), *secrets]
        for secret in sorted({s for s in hidden if s and len(s) >= 3}, key=len, reverse=True):
            text = text.replace(secret, HIDDEN)
        return text


def parse_server_url(text: str) -> ServerURL:
    """An http(s) URL checked and taken apart; InvalidOptionError names what is wrong with it."""
    shown = redacted(text)
    problem = None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:  # its message may quote part of a password: raised outside, not as the cause
        problem = _why(str(error), text)
    if problem is not None:
        raise InvalidOptionError(f"the Qdrant URL {shown!r} cannot be read ({problem}); write "
                                 f"http(s)://HOST:PORT, e.g. http://localhost:6333 or http://[::1]:6333")
    scheme = parts.scheme.lower()
    if not parts.hostname:
        raise InvalidOptionError(f"the Qdrant URL {shown!r} names no host; write {scheme}://HOST:PORT, "
                                 f"e.g. {scheme}://localhost:6333")
    if port == 0:
        raise InvalidOptionError(f"the Qdrant URL {shown!r} has port 0; give a port from 1 to 65535 "
                                 f"(Qdrant listens on 6333 for REST, 6334 for gRPC)")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key not in API_KEY_PARAMETERS for key, _ in query):
        raise InvalidOptionError(f"the Qdrant URL {shown!r} has a query embedkit does not read; the only one it "
                                 f"reads is ?api_key=KEY (better: --api-key or $QDRANT_API_KEY)")
    keys = [value for _, value in query if value]
    basic = None
    if parts.username is not None or parts.password is not None:
        basic = (unquote(parts.username or ""), unquote(parts.password or ""))
    path = parts.path.rstrip("/")
    return ServerURL(f"{scheme}://{parts.netloc.rpartition('@')[2]}{path}", shown, keys[-1] if keys else None, basic)


def _why(message: str, text: str) -> str:
    if "IPv6" in message:
        return "an IPv6 address needs both brackets, e.g. http://[::1]:6333"
    if "@" in text:
        return ("its port is not a number from 1 to 65535, or its user name or password holds / ? # or @ "
                "(write them %2F %3F %23 %40)")
    return "its port is not a number from 1 to 65535"


def check_location(text: str) -> str:
    """What kind of store `text` names: "server", "memory", "local" or "folder"; InvalidOptionError when it
    names none (an empty string, a URL scheme embedkit does not read, HOST:PORT without its scheme)."""
    if not text.strip():
        raise InvalidOptionError(f"the store location is empty; give {ACCEPTED}, or leave it out for the "
                                 f"default store in {default_store_path()}")
    scheme = _SCHEME.match(text)
    if scheme is not None:
        name = scheme.group(1).lower()
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
        from embedkit.store.client import ClientStore

        key = api_key if api_key is not None else os.environ.get("QDRANT_API_KEY") or None
        client_store = ClientStore.connect(text, grpc=grpc, api_key=key, embedkit_version=__version__)
    elif kind in ("memory", "local"):
        from embedkit.store.client import ClientStore

        path = None if kind == "memory" else text[len(CLIENT_LOCAL_PREFIX):]
        client_store = ClientStore.local(path, embedkit_version=__version__)
    else:
        from embedkit.store.edge import EdgeStore

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
