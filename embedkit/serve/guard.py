"""What a request must pass before its body is read: the Host it names, the access key, and the size and
nesting of its body. Pure ASGI around `receive`, so nothing past a limit is ever read or buffered."""

from __future__ import annotations

import hmac
import ipaddress
import json
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from embedkit.serve.nesting import Nesting, TooDeepError
from embedkit.serve.settings import ServeSettings

MULTIPART_SLACK = 64 * 1024
"""A multipart body carries its boundaries and form fields besides the file."""
PUBLIC = ("/", "/api/health", "/openapi.json", "/favicon.ico", "/docs")
PUBLIC_PREFIXES = ("/static/", "/docs/assets/")
"""What a client may fetch without the key: the page, its assets, the API's description, the health check."""
QDRANT_PUBLIC = ("", "/", "/healthz", "/livez", "/readyz")
"""What Qdrant answers without the key, under the prefix where its API is served: the version, the health checks."""
KEY_MESSAGE = "this server needs its API key: send it as the X-API-Key header (or ?api_key=)"
QDRANT_KEY_MESSAGE = ("Unauthorized: this server needs its access key: send it as the api-key header "
                      "(api_key= in Qdrant's clients)")


class BodyRefused(HTTPException):
    """A body over a limit, found while it is read: FastAPI passes it on as it is, and it answers as JSON."""


def host_name(value: str) -> str:
    """The host of a Host header, without its port: `[::1]:8000` -> `::1`, `Example.org:80` -> `example.org`."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def given_key(scope: Scope, headers: Headers) -> str:
    """The key a request carries: the X-API-Key header (api-key, as Qdrant's clients send it, or
    `Authorization: Bearer KEY`), or ?api_key=."""
    bearer = headers.get("authorization", "")
    found = headers.get("x-api-key") or headers.get("api-key") or (bearer[7:] if bearer[:7].lower() == "bearer " else "")
    if found:
        return found
    query = scope.get("query_string", b"").decode("latin-1")
    return next((value for name, value in parse_qsl(query) if name == "api_key"), "")


def has_key(key: str | None, scope: Scope, headers: Headers) -> bool:
    """Whether a request carries the server's key `key` (None: the server has none), compared in constant time."""
    return key is None or hmac.compare_digest(given_key(scope, headers).encode(), key.encode())


class RequestGuard:
    """Refuses, in the server's JSON error shape, a request with a Host it does not serve (403), without the key
    (401), or with a body over the limit (413, announced or found while reading) or nested too deeply (400).
    Under `qdrant_paths` (where Qdrant's REST API answers) the refusal has Qdrant's error body."""

    def __init__(self, app: ASGIApp, settings: ServeSettings, qdrant_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.settings = settings
        self.qdrant_paths = tuple(path.rstrip("/") for path in qdrant_paths)
        self.hosts = {host_name(host) for host in settings.allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = scope.get("path", "")
        qdrant = any(path == prefix or path.startswith(prefix + "/") for prefix in self.qdrant_paths)
        multipart = headers.get("content-type", "").lower().startswith("multipart/")
        limit = self.settings.max_upload_bytes + MULTIPART_SLACK if multipart else self.settings.max_json_bytes
        refusal = self.refusal(scope, headers, limit, qdrant)
        if refusal is not None:
            await respond(send, *refusal, qdrant=qdrant)
            return
        kind = headers.get("content-type", "application/json").split(";")[0].strip().lower()
        body = BoundedBody(receive, limit, multipart, Nesting(self.settings.max_json_depth)
                           if kind == "application/json" or kind.endswith("+json") else None)
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if body.refused:  # or the server would read (and drop) the rest of the body to keep the connection
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, body.receive, tracked)
        except BodyRefused as refused:  # raised where nothing turned it into a response
            if started:
                raise
            await respond(send, refused.status_code, refused.detail, refused.headers, qdrant=qdrant)

    def refusal(self, scope: Scope, headers: Headers, limit: int, qdrant: bool = False
                ) -> tuple[int, str, dict[str, str]] | None:
        host = host_name(headers.get("host", ""))
        if "*" not in self.hosts and host not in self.hosts and not (self.settings.any_address and is_address(host)):
            shown = host[:100]
            return 403, (f"this server does not answer for host {shown!r}; start it with --allow-host {shown} "
                         f"if that name is meant to reach it"), {}
        key = self.settings.api_key
        path = scope.get("path", "")
        public = path in PUBLIC or path.startswith(PUBLIC_PREFIXES) or (qdrant and self.qdrant_public(path))
        if not public and not has_key(key, scope, headers):
            if qdrant:
                return 401, QDRANT_KEY_MESSAGE, {"WWW-Authenticate": "api-key"}
            return 401, KEY_MESSAGE, {"WWW-Authenticate": "X-API-Key"}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            return 413, too_large(limit, headers), {}
        return None


    def qdrant_public(self, path: str) -> bool:
        return any(path in (prefix + tail for tail in QDRANT_PUBLIC) for prefix in self.qdrant_paths)


class BoundedBody:
    """`receive` that stops at `limit` bytes (with or without a Content-Length) and at too deep a JSON nesting."""

    def __init__(self, receive: Receive, limit: int, multipart: bool, nesting: Nesting | None):
        self._receive = receive
        self.limit = limit
        self.multipart = multipart
        self.nesting = nesting
        self.read = 0
        self.refused = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request":
            return message
        chunk = message.get("body", b"")
        self.read += len(chunk)
        if self.read > self.limit:
            self.refused = True
            raise BodyRefused(413, too_large(self.limit, None, self.multipart))
        if self.nesting is not None and chunk:
            try:
                self.nesting.feed(chunk)
            except TooDeepError as error:
                self.refused = True
                raise BodyRefused(400, str(error)) from error
        return message


def too_large(limit: int, headers: Headers | None, multipart: bool | None = None) -> str:
    if multipart is None:
        multipart = headers is not None and headers.get("content-type", "").lower().startswith("multipart/")
    if multipart:
        upload = limit - MULTIPART_SLACK
        return (f"the request is over the server's limit of {upload / 2**20:g} MiB; send a smaller image "
                f"(or start the server with a larger --max-upload-mb)")
    return (f"the request body is over the server's limit of {limit / 2**20:g} MiB for JSON; send a smaller one "
            f"(or start the server with a larger --max-json-mb)")


async def respond(send: Send, status: int, detail: str, headers: dict[str, str] | None = None,
                  qdrant: bool = False) -> None:
    shaped = {"status": {"error": detail}, "time": 0.0} if qdrant else {"detail": detail}  # Qdrant's error body
    body = json.dumps(shaped).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           (b"x-content-type-options", b"nosniff"), (b"connection", b"close")]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
