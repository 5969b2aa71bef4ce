"""What one server holds: the store, its settings, the loaded encoders, the images and the maps it has made."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from embedkit.errors import InvalidOptionError, SampleNotFoundError
from embedkit.serve.encoders import LoadedEncoders
from embedkit.serve.images import PointImages
from embedkit.serve.settings import ServeSettings
from embedkit.store import CollectionVector, Store


class CollectionNotFoundError(SampleNotFoundError):
    """A collection the store does not have (404, like an unknown sample)."""


@dataclass
class ServerState:
    store: Store
    settings: ServeSettings
    encoders: LoadedEncoders
    images: PointImages
    maps: dict[tuple[str, str, int], Any] = field(default_factory=dict)
    maps_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, store: Store, settings: ServeSettings) -> ServerState:
        encoders = LoadedEncoders(settings.max_encoders, max_batch=settings.query_batch,
                                  max_wait_ms=settings.query_wait_ms)
        return cls(store, settings, encoders, PointImages(store))

    def require(self, collection: str) -> None:
        """Raise CollectionNotFoundError (a 404) for a collection the store does not have."""
        try:
            found = self.store.vector_names(collection)
        except InvalidOptionError:  # not even a valid collection name
            found = []
        if not found:
            raise CollectionNotFoundError(f"no collection {collection!r} in this store; GET /api/collections lists them")

    def vector(self, collection: str, vector: str | None, embeds: str | None = None) -> CollectionVector:
        """The collection's vector that `vector` names (an encoder name or alias; the default when None)."""
        self.require(collection)
        return self.store.vector(collection, vector, embeds=embeds)
