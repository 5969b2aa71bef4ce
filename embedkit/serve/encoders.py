"""The query encoders a server keeps loaded: rebuilt from a collection's record once, used by many requests."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from embedkit.encoders import Encoder
from embedkit.store import CollectionVector


class LoadedEncoders:
    """At most `limit` encoders, by the record of the vectors they make; each runs one batch at a time."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self._loaded: OrderedDict[str, tuple[Encoder, threading.Lock]] = OrderedDict()
        self._loading = threading.Lock()

    @contextmanager
    def using(self, vector: CollectionVector) -> Iterator[Encoder]:
        """The encoder that made `vector`, held for this thread until the block ends."""
        with self._loading:  # one load at a time: two requests must not load the same model twice
            if vector.key not in self._loaded:
                self._loaded[vector.key] = (vector.encoder(), threading.Lock())
                while len(self._loaded) > self.limit:
                    self._loaded.popitem(last=False)
            self._loaded.move_to_end(vector.key)
            encoder, busy = self._loaded[vector.key]
        with busy:
            yield encoder

    def names(self) -> list[str]:
        """The loaded encoders' names, the most recently used last."""
        with self._loading:
            return [encoder.name for encoder, _ in self._loaded.values()]
