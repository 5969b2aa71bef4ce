"""What a store backend is: what it can do (`StoreCapabilities`), and every primitive it implements
(`StoreBackend`). The public methods are built on these once, for all backends (embedkit/store/base.py).

A primitive's failure leaves the backend typed: an exception of the backend's library becomes a StoreBackendError
raised from it, an embedkit error passes as it is."""

from __future__ import annotations

import functools
import inspect
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from embedkit.errors import EmbedkitError, StoreBackendError, first_line
from embedkit.store.collection_options import CollectionOptions
from embedkit.store.points import Conditions, PointRecord, ScoredRecord

ID_CHUNK = 1024
"""The most point ids one primitive call is given."""


@dataclass(frozen=True)
class StoreCapabilities:
    """What a backend can do, for a caller to ask the opened store (`store.capabilities.remote`) rather than its
    location; each backend registers its own (`register_stores`)."""

    embedded: bool = False
    """The engine runs inside this process, on files in a folder (Qdrant Edge): one process opens it at a time."""
    remote: bool = False
    """Reached over the network (a Qdrant server): a failed write may pass, so retrying it can help."""
    parallel_writers: bool = False
    """Several writers (threads, processes, machines) may write at once: uploads can run in parallel."""
    shards: bool = False
    """Lays a collection out over shards and replicas (`CollectionOptions.shards`, `replication_factor`)."""
    builds_index_itself: bool = False
    """Indexes what is written by itself: the index is unfinished only while a bulk load (`begin_bulk_load`)
    keeps indexing off, and `optimize` only turns it back on."""


class StoreBackend(ABC):
    """One kind of store (embedded Qdrant Edge, a server through qdrant-client): small operations on points.

    A backend subclasses `embedkit.store.Store` and implements every abstract method here; the others are
    optional and say what their default does. The metadata point must never match `Conditions`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _classify_failures(cls)

    location: str = ""
    """Where the store is, as it may be shown (a URL's credentials hidden)."""
    embedkit_version: str = "0"
    collection_options: CollectionOptions | None = None
    """The layout of the collections this store creates (`open_store(..., collection_options=...)`)."""
    read_only: bool = False
    """True for a store this process may not write (an embedded store on a read-only mount): reads work."""

    @property
    @abstractmethod
    def capabilities(self) -> StoreCapabilities:
        """What this store can do: the capabilities its backend registered."""

    # ---- optional, with a default ----------------------------------------------------------
    def check_writable(self, action: str) -> None:
        """Raise StoreReadOnlyError, naming `action` ("drop collection 'x'"), when this store cannot be written;
        every write checks it first, and a command may call it before asking for a confirmation. Default: every
        store may be written."""

    def flush(self) -> None:
        """Make every write so far durable. Default: nothing to do (every write is durable when it returns)."""

    def close(self) -> None:
        """Flush and release the store. Default: nothing to release."""

    def _build_index(self, collection: str) -> None:
        """Build the collection's indexes now, blocking. Default: nothing, for a backend whose
        `capabilities.builds_index_itself` (a server, in the background)."""

    def _indexing_threshold(self, collection: str) -> int | None:
        """The size (kB of vectors) from which the backend indexes a segment by itself. Default: None, for a
        backend that indexes only in `_build_index` (then a bulk load has no indexing to switch off)."""
        return None

    def _set_indexing_threshold(self, collection: str, kilobytes: int) -> None:
        """Set what `_indexing_threshold` reads (0: no indexing). Only called on a backend whose
        `_indexing_threshold` gives a number; the default refuses."""
        raise NotImplementedError(f"{type(self).__name__} has an indexing threshold but cannot set it")

    # ---- collections -----------------------------------------------------------------------
    @abstractmethod
    def _collection_names(self) -> list[str]: ...

    @abstractmethod
    def _has_collection(self, collection: str) -> bool: ...

    @abstractmethod
    def _create_collection(self, collection: str, vector_name: str, dim: int) -> None:
        """Create the collection with one cosine vector, laid out as `self.collection_options` say, with the
        payload indexes of schema.INDEXED_FIELDS."""

    @abstractmethod
    def _vector_dims(self, collection: str) -> dict[str, int]: ...

    @abstractmethod
    def _add_vector(self, collection: str, vector_name: str, dim: int) -> None: ...

    @abstractmethod
    def _drop(self, collection: str) -> None: ...

    @abstractmethod
    def _create_field_index(self, collection: str, field: str, kind: str) -> None:
        """Create a payload index of `kind` ("integer", "keyword") on `field`, or keep the one there is."""

    # ---- points ------------------------------------------------------------------------------
    @abstractmethod
    def _put_metadata_point(self, collection: str, payload: dict[str, Any]) -> None:
        """Write the metadata point (schema.METADATA_POINT_ID, no vectors) with this payload."""

    @abstractmethod
    def _retrieve(self, collection: str, ids: list[str], with_payload: bool, vectors: list[str]) -> list[PointRecord]:
        """The points among `ids` that exist (any order), with their payload and these named vectors."""

    @abstractmethod
    def _upsert(
        self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray, payloads: list[dict[str, Any]]
    ) -> None:
        """Write new points with one named vector and their payloads."""

    @abstractmethod
    def _update_vectors(self, collection: str, vector_name: str, ids: list[str], vectors: np.ndarray) -> None:
        """Set one named vector of existing points, keeping their other vectors and payload."""

    @abstractmethod
    def _set_payloads(self, collection: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Merge each payload into the payload of its (existing) point."""

    @abstractmethod
    def _delete_payload(self, collection: str, ids: list[str], keys: list[str]) -> None:
        """Remove the payload `keys` of these points, all of which exist."""

    @abstractmethod
    def _delete(self, collection: str, conditions: Conditions) -> None:
        """Delete every point that matches `conditions` (never the metadata point), durably once `flush` returns."""

    # ---- reading -----------------------------------------------------------------------------
    @abstractmethod
    def _query(
        self, collection: str, vector_name: str, vector: np.ndarray, k: int, conditions: Conditions, exact: bool
    ) -> list[ScoredRecord]:
        """The k points nearest to `vector` (cosine) that match `conditions`, best first, with their payload."""

    @abstractmethod
    def _query_batch(
        self, collection: str, vector_name: str, vectors: np.ndarray, k: int, conditions: Conditions, exact: bool,
        score_threshold: float | None, fields: list[str] | None = None,
    ) -> list[list[ScoredRecord]]:
        """The hits of each row of `vectors`, in order, as one batch request (or a few), with these payload fields
        (None: the whole payload)."""

    @abstractmethod
    def _recommend(
        self, collection: str, vector_name: str, positive: np.ndarray, negative: np.ndarray, k: int,
        conditions: Conditions,
    ) -> list[ScoredRecord]:
        """Qdrant's recommend query, best-score strategy, with these example vectors."""

    @abstractmethod
    def _scroll(
        self, collection: str, conditions: Conditions, vectors: list[str], with_payload: bool, limit: int, offset: Any
    ) -> tuple[list[PointRecord], Any]:
        """Up to `limit` matching points from `offset` (None: the first), and the offset of the next page (None:
        no more)."""

    @abstractmethod
    def _count(self, collection: str, conditions: Conditions) -> int:
        """How many points match `conditions`, exactly."""

    @abstractmethod
    def _facet(self, collection: str, field: str, limit: int, conditions: Conditions) -> list[tuple[Any, int]]:
        """(value, count) pairs of the indexed payload `field` among the points matching `conditions`, the
        `limit` most frequent first."""


PRIMITIVES = frozenset(name for name, value in vars(StoreBackend).items() if inspect.isfunction(value))
"""The methods a backend implements (or inherits a default of): those whose failures the store classifies."""

_Function = TypeVar("_Function", bound=Callable[..., Any])
_running = threading.local()


def backend_failure(error: Exception) -> StoreBackendError:
    """The embedkit error for an exception a store backend's library raised; raise it `from error`."""
    return StoreBackendError(f"the store failed: {first_line(error)}; an embedded store's files may be damaged "
                             f"(ingest again into a new --qdrant folder), a server's log may say more")


def classified(primitive: _Function) -> _Function:
    """`primitive`, raising StoreBackendError from any exception that is not an embedkit error. Only the outermost
    primitive running in a thread does: one a backend calls from its own code fails as its library made it fail,
    for the backend's own `except` clauses to see."""
    if getattr(primitive, "_classified", False):  # one function in the bodies of two classes
        return primitive

    @functools.wraps(primitive)
    def call(*args: Any, **kwargs: Any) -> Any:
        if getattr(_running, "primitive", False):
            return primitive(*args, **kwargs)
        _running.primitive = True
        try:
            return primitive(*args, **kwargs)
        except EmbedkitError:
            raise
        except Exception as error:
            raise backend_failure(error) from error
        finally:
            _running.primitive = False

    call._classified = True  # type: ignore[attr-defined]
    return call  # type: ignore[return-value]


def _classify_failures(cls: type) -> None:
    """Classify the failures of the primitives `cls` defines itself (its bases' are classified already)."""
    for name in PRIMITIVES & vars(cls).keys():
        if inspect.isfunction(vars(cls)[name]):
            setattr(cls, name, classified(vars(cls)[name]))


_classify_failures(StoreBackend)  # the defaults: one may refuse (`_set_indexing_threshold`)
