"""What a server is allowed to do: its API key, the hosts it answers for, its body limits, how many encoders it
keeps loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from embedkit.serve.batching import DEFAULT_MAX_BATCH, DEFAULT_MAX_WAIT_MS
from embedkit.serve.nesting import MAX_DEPTH

MAX_UPLOAD_BYTES = 20 * 2**20
MAX_JSON_BYTES = 8 * 2**20
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
"""The names a local client sends as Host (a test's TestClient is given base_url="http://localhost")."""
MAX_K = 1000
MAP_POINTS = 3000


@dataclass(frozen=True)
class ServeSettings:
    api_key: str | None = field(default=None, repr=False)
    """When set, every /api request but /api/health needs it, as an `X-API-Key` header or `?api_key=`."""
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_json_bytes: int = MAX_JSON_BYTES
    """The largest body that is not an upload (JSON searches); refused once this much has arrived."""
    max_json_depth: int = MAX_DEPTH
    """How deeply a JSON body or a filter may nest arrays and objects (a 400 beyond, before any parser runs)."""
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    """The names a request may give as its Host (`*`: any); others get a 403, which stops DNS rebinding."""
    any_address: bool = False
    """Listening on every address (0.0.0.0 or ::): any IP address is a valid Host too (rebinding needs a name)."""
    max_encoders: int = 2
    """Query encoders kept loaded, the least recently used going first."""
    results: tuple[Path, ...] = (Path("bench-results"),)
    """Folders of `embedkit bench` results, shown for the collections they measured."""
    max_k: int = MAX_K
    map_points: int = MAP_POINTS
    """A map shows at most this many points of a collection (a random sample of larger ones)."""
    query_batch: int = DEFAULT_MAX_BATCH
    """Concurrent queries (uploaded images, texts) an encoder embeds in one forward pass, at most."""
    query_wait_ms: float = DEFAULT_MAX_WAIT_MS
    """How long a batch waits for queries that are on their way; a lone query never waits."""
    qdrant_api: bool = True
    """Also answer Qdrant's REST API under /qdrant (embedkit/serve/qdrant_api/)."""
    qdrant_api_writes: bool = False
    """Let the Qdrant API write (upsert, delete, payloads); only with `api_key` set."""
