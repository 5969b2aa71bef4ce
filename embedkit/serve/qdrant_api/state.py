"""What the Qdrant API of one server holds: the store, the settings, and the lock that makes its writes one at a
time (the store's one writer)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from fastapi import Request

from embedkit.serve.settings import ServeSettings
from embedkit.store import Store


@dataclass
class QdrantApiState:
    store: Store
    settings: ServeSettings
    writing: threading.Lock = field(default_factory=threading.Lock)
    operations: itertools.count = field(default_factory=itertools.count)
    """Numbers the writes, as Qdrant's `operation_id`."""


def state(request: Request) -> QdrantApiState:
    return request.app.state.qdrant
