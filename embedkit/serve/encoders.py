"""The query encoders a server keeps loaded: rebuilt from a collection's record once, used by many requests."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from embedkit.encoders import Encoder
from embedkit.retrieval.query import query_encoder
from embedkit.store import Store


class LoadedEncoders:
    """At most `limit` encoders, by the record of the vectors they make; each runs one batch at a time."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self._loaded: OrderedDict[str, tuple[Encoder, threading.Lock]] = OrderedDict()
        self._loading = threading.Lock()

    @contextmanager
    def using(self, store: Store, collection: str, vector_name: str) -> Iterator[Encoder]:
        """The encoder that made `vector_name` of `collection`, held for this thread until the block ends."""
        key = repr(store.vector_record(collection, vector_name))
        with self._loading:  # one load at a time: two requests must not load the same model twice
            if key not in self._loaded:
                self._loaded[key] = (query_encoder(store, collection, vector_name, None, {}), threading.Lock())
                while len(self._loaded) > self.limit:
                    self._loaded.popitem(last=False)
            self._loaded.move_to_end(key)
            encoder, busy = self._loaded[key]
        with busy:
            yield encoder

    def names(self) -> list[str]:
        """The loaded encoders' names, the most recently used last."""
        with self._loading:
            return [encoder.name for encoder, _ in self._loaded.values()]
