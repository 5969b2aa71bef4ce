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
        self._loading = threading.Lock()

    @contextmanager
    def using(self, vector: CollectionVector) -> Iterator[BatchedEncoder]:
        """The encoder that made `vector`, its queries announced to its batchers until the block ends."""
        with self._loading:  # one load at a time: two requests must not load the same model twice
            if vector.key not in self._loaded:
                self._loaded[vector.key] = BatchedEncoder(vector.encoder(), max_batch=self.max_batch,
                                                          max_wait=self.max_wait_ms / 1000)
                while len(self._loaded) > self.limit:
                    self._loaded.popitem(last=False)[1].close()
            self._loaded.move_to_end(vector.key)
            encoder = self._loaded[vector.key]
        with encoder.expect():
            yield encoder

    def batch_sizes(self) -> dict[str, list[int]]:
        """The sizes of the recent forward passes of each loaded encoder (images and texts), by name."""
        with self._loading:
            return {encoder.name: [size for batcher in (encoder.images, encoder.texts) if batcher
                                   for size in batcher.batches] for encoder in self._loaded.values()}

    def names(self) -> list[str]:
        """The loaded encoders' names, the most recently used last."""
        with self._loading:
            return [encoder.name for encoder in self._loaded.values()]
