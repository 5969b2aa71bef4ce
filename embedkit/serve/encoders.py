"""The query encoders a server keeps loaded: rebuilt from a collection's record once, used by many requests, whose
concurrent queries each encoder embeds in shared batches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from embedkit.serve.batching import DEFAULT_MAX_BATCH, DEFAULT_MAX_WAIT_MS, BatchedEncoder
from embedkit.store import CollectionVector


class LoadedEncoders:
    """At most `limit` encoders, by the record of the vectors they make; each embeds batches of up to `max_batch`
    concurrent queries, gathered for at most `max_wait_ms` while more are on their way."""

    def __init__(self, limit: int, *, max_batch: int = DEFAULT_MAX_BATCH, max_wait_ms: float = DEFAULT_MAX_WAIT_MS):
        self.limit = max(1, limit)
        self.max_batch = max_batch
        self.max_wait_ms = max_wait_ms
        self._loaded: OrderedDict[str, BatchedEncoder] = OrderedDict()
        self._users: dict[BatchedEncoder, int] = {}
        self._retired: set[BatchedEncoder] = set()
        """Encoders let go of while requests still use them: closed when the last one is done."""
        self._loading = threading.Lock()

    @contextmanager
    def using(self, vector: CollectionVector) -> Iterator[BatchedEncoder]:
        """The encoder that made `vector`, its queries announced to its batchers until the block ends."""
        with self._loading:  # one load at a time: two requests must not load the same model twice
            if vector.key not in self._loaded:
                self._loaded[vector.key] = BatchedEncoder(vector.encoder(), max_batch=self.max_batch,
                                                          max_wait=self.max_wait_ms / 1000)
                while len(self._loaded) > self.limit:
                    self._retire(self._loaded.popitem(last=False)[1])
            self._loaded.move_to_end(vector.key)
            encoder = self._loaded[vector.key]
            self._users[encoder] = self._users.get(encoder, 0) + 1
        try:
            with encoder.expect():
                yield encoder
        finally:
            with self._loading:
                self._users[encoder] -= 1
                if not self._users[encoder]:
                    del self._users[encoder]
                    if encoder in self._retired:
                        self._retired.discard(encoder)
                        encoder.close()

    def _retire(self, encoder: BatchedEncoder) -> None:
        """Close an encoder that is no longer kept, once no request uses it."""
        if self._users.get(encoder):
            self._retired.add(encoder)
        else:
            encoder.close()

    def batch_sizes(self) -> dict[str, list[int]]:
        """The sizes of the recent forward passes of each loaded encoder (images and texts), by name."""
        with self._loading:
            return {encoder.name: [size for batcher in (encoder.images, encoder.texts) if batcher
                                   for size in batcher.batches] for encoder in self._loaded.values()}

    def names(self) -> list[str]:
        """The loaded encoders' names, the most recently used last."""
        with self._loading:
            return [encoder.name for encoder in self._loaded.values()]
