"""Qdrant's advice for uploading many points: build no vector index while they stream in, one index after.

A server indexes a segment once it outgrows the collection's `indexing_threshold`; `begin_bulk_load` sets it
to 0 and records the value it had on the metadata point, and `optimize` puts that value back. The record
outlives a process killed mid-load: `index_unfinished` stays set, the next ingest runs `optimize`, and
indexing comes back on.
"""

from __future__ import annotations

import logging

from embedkit.errors import InvalidOptionError
from embedkit.store.metadata import CollectionMetadata

log = logging.getLogger(__name__)

PAUSED_INDEXING_KEY = "indexing_threshold_before_bulk_load"
"""Metadata key: the indexing threshold (kB of vectors) to put back after a bulk load; absent when none runs."""


class BulkLoad(CollectionMetadata):
    """Indexing switched off for a bulk load and on again by `optimize`, through a backend's threshold primitives
    (StoreBackend's `_indexing_threshold`, `_set_indexing_threshold` and `_build_index`)."""

    def optimize(self, collection: str | None = None) -> None:
        """Build the indexes (HNSW, payload) of `collection` (None: every collection) after a bulk load, turn a
        server's indexing back on, and record that the indexes caught up with the points (`index_unfinished`)."""
        self.check_writable("build the index" + (f" of collection {collection!r}" if collection else ""))
        for name in [collection] if collection else self._collection_names():
            self._build_index(name)
            self._end_bulk_load(name)
            self._note_index(name, unfinished=False)

    def begin_bulk_load(self, collection: str) -> None:
        """Call before writing many points into `collection` (after `ensure_vector`); `optimize` ends the load.

        A server stops building the HNSW index of the collection until then. The embedded store, which builds
        its index only in `optimize` anyway, has nothing to switch off."""
        self.check_writable(f"bulk-load collection {collection!r}")
        if not self._has_collection(collection):
            raise InvalidOptionError(f"collection {collection!r} does not exist in {self.location}; create it "
                                     f"with ensure_vector before a bulk load")
        metadata = self._read_metadata(collection)
        if metadata.get(PAUSED_INDEXING_KEY) is not None:
            return  # a load that did not finish left indexing off: keep the value it recorded
        threshold = self._indexing_threshold(collection)
        if not threshold:  # indexed only when asked (the embedded store), or indexing already off by choice
            return
        metadata.update({PAUSED_INDEXING_KEY: threshold, "index_unfinished": True})
        self._write_metadata(collection, metadata)
        self._set_indexing_threshold(collection, 0)
        log.info("indexing of collection %s off for the bulk load (threshold %d kB until optimize)",
                 collection, threshold)

    def _end_bulk_load(self, collection: str) -> None:
        """Put back the indexing threshold `begin_bulk_load` recorded, if it recorded one."""
        metadata = self._read_metadata(collection)
        threshold = metadata.get(PAUSED_INDEXING_KEY)
        if threshold is None:
            return
        self._set_indexing_threshold(collection, int(threshold))
        del metadata[PAUSED_INDEXING_KEY]
        self._write_metadata(collection, metadata)
        log.info("indexing of collection %s back on (threshold %d kB)", collection, int(threshold))
