"""What a Qdrant server's answers mean for embedkit: its version next to qdrant-client's, a refused key,
an API it lacks, and any error in one line."""

from __future__ import annotations

import importlib.metadata
import logging
from typing import Any

from qdrant_client.http.exceptions import UnexpectedResponse

log = logging.getLogger(__name__)


def log_version(client: Any, url: str) -> None:
    try:
        server = client.info().version
    except Exception:  # an old server without the endpoint: the calls themselves will tell
        return
    ours = importlib.metadata.version("qdrant-client")
    try:
        (s_major, s_minor), (o_major, o_minor) = (tuple(int(p) for p in v.split(".")[:2]) for v in (server, ours))
    except ValueError:
        return
    if s_major != o_major or abs(s_minor - o_minor) > 1:
        log.warning("Qdrant server %s runs %s; qdrant-client %s may not speak all of its API", url, server, ours)
    else:
        log.info("Qdrant server %s runs %s", url, server)


def refusal(shown: str, status: int, key: str | None, basic_auth: tuple[str, str] | None) -> str:
    """The one line for a server that answered 401/403: what was sent, and how to send the right thing."""
    if key is None and basic_auth is None:
        return (f"the Qdrant server at {shown} asks for an API key (HTTP {status}); pass --api-key KEY or set "
                f"QDRANT_API_KEY")
    if key is None:
        return (f"the Qdrant server at {shown} refused the user name and password in the URL (HTTP {status}); "
                f"check them, or pass an API key with --api-key KEY or QDRANT_API_KEY")
    return (f"the Qdrant server at {shown} refused the API key (HTTP {status}); check the key given with --api-key, "
            f"QDRANT_API_KEY or the URL's ?api_key=")


def unsupported(error: Exception) -> bool:
    """Whether the server is too old for an API (it answers 404/405, or gRPC UNIMPLEMENTED)."""
    if isinstance(error, UnexpectedResponse):
        return error.status_code in (404, 405)
    code = getattr(error, "code", None)
    return callable(code) and getattr(code(), "name", "") == "UNIMPLEMENTED"


def error_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
