"""The primitives a store backend implements; `Store` builds the public methods on them, once for all."""

from __future__ import annotations

from typing import Any

import numpy as np

from embedkit.store.points import Conditions, PointRecord, ScoredRecord


class StoreBackend:
    """One Qdrant flavour (embedded Edge, a server through qdrant-client): small operations on points.

    Each raises NotImplementedError here; `embedkit.store.Store` subclasses this, and a backend
    subclasses Store and implements them all. The metadata point must never match `Conditions`.
    """

    read_only: bool = False
    """True for a store this process may not write (an embedded store on a read-only mount): reads work."""
    builds_index_itself: bool = False
    """True for a server, which indexes what is written in the background: its index is unfinished only while
    a bulk load (`begin_bulk_load`) keeps indexing off."""

    def check_writable(self, action: str) -> None:
        """Raise StoreReadOnlyError, naming `action` ("drop collection 'x'"), when this store cannot be written;
        every write checks it first, and a command may call it before asking for a confirmation."""

    def _collection_names(self) -> list[str]:
        raise NotImplementedError

    def _has_collection(self, collection: str) -> bool:
        raise NotImplementedError

    def _create_collection(self, collection: str, vector_name: str, dim: int) -> None:
        raise NotImplementedError

    def _vector_dims(self, collection: str) -> dict[str, int]:
        raise NotImplementedError

    def _add_vector(self, collection: str, vector_name: str, dim: int) -> None:
        raise NotImplementedError

    def _drop(self, collection: str) -> None:
        raise NotImplementedError

    def _delete(self, collection: str, conditions: Conditions) -> None:
        """Delete every point that matches `conditions` (never the metadata point), durably once `flush` returns."""
        raise NotImplementedError

    def _put_metadata_point(self, collection: str, payload: dict[str, Any]) -> None:
        raise NotImplementedError

    def _retrieve(self, collection: str, ids: list[str], with_payload: bool, vectors: list[str]) -> list[PointRecord]:
        raise NotImplementedError

    def _upsert(
        self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray, payloads: list[dict[str, Any]]
    ) -> None:
        raise NotImplementedError

    def _update_vectors(self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray) -> None:
        raise NotImplementedError

    def _set_payloads(self, collection: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        raise NotImplementedError

    def _query(
        self, collection: str, vector_name: str, vector: np.ndarray, k: int, conditions: Conditions, exact: bool
    ) -> list[ScoredRecord]:
        raise NotImplementedError

    def _query_batch(
        self, collection: str, vector_name: str, vectors: np.ndarray, k: int, conditions: Conditions, exact: bool,
        score_threshold: float | None,
    ) -> list[list[ScoredRecord]]:
        """The hits of each row of `vectors`, in order, as one batch request (or a few)."""
        raise NotImplementedError

    def _delete_payload(self, collection: str, ids: list[str], keys: list[str]) -> None:
        """Remove the payload `keys` of these points, all of which exist."""
        raise NotImplementedError

    def _recommend(
        self,
        collection: str,
        vector_name: str,
        positive: np.ndarray,
        negative: np.ndarray,
        k: int,
        conditions: Conditions,
    ) -> list[ScoredRecord]:
        raise NotImplementedError

    def _scroll(
        self,
        collection: str,
        conditions: Conditions,
        vectors: list[str],
        with_payload: bool,
        limit: int,
        offset: Any,
    ) -> tuple[list[PointRecord], Any]:
        raise NotImplementedError

    def _count(self, collection: str, conditions: Conditions) -> int:
        raise NotImplementedError

    def _build_index(self, collection: str) -> None:
        """Build the collection's indexes now, blocking; a server builds them by itself in the background."""
