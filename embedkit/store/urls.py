"""Store URLs: a Qdrant server URL taken apart (what the client gets, the credentials it carried), and any location
as it may be shown, its credentials hidden. Imports nothing of the store, so that every part of it may use this."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from embedkit.errors import InvalidOptionError

API_KEY_PARAMETERS = ("api_key", "api-key")
HIDDEN = "***"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def url_scheme(location: str) -> str | None:
    """The scheme of a `SCHEME://...` location, lower-cased (`http`); None for anything else (a folder, `:memory:`)."""
    scheme = _SCHEME.match(location)
    return None if scheme is None else scheme.group(1).lower()


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
