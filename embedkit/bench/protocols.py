"""Which samples query which gallery: leave-one-out, or one split against another. Relevant = same label."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embedkit.analysis.vectors import LabelledVectors, stored_vectors
from embedkit.errors import InvalidOptionError
from embedkit.store import Store

LEAVE_ONE_OUT = "leave-one-out"
SPLIT = "split"
PROTOCOLS = (LEAVE_ONE_OUT, SPLIT)


@dataclass
class Task:
    """The queries and the gallery of one evaluation."""

    protocol: str
    queries: LabelledVectors
    gallery: LabelledVectors
    query_positions: np.ndarray | None
    """Leave-one-out: each query's index in the gallery."""


def sample_queries(count: int, wanted: int | None, seed: int) -> np.ndarray:
    if wanted is None or wanted >= count:
        return np.arange(count)
    if wanted < 1:
        raise InvalidOptionError(f"--queries must be at least 1, got {wanted}")
    return np.sort(np.random.default_rng(seed).choice(count, size=wanted, replace=False))


def make_task(
    store: Store,
    collection: str,
    vector_name: str,
    protocol: str,
    split: str | None = None,
    query_split: str | None = None,
    gallery_split: str | None = None,
    queries: int | None = None,
    seed: int = 0,
    k: int = 10,
    only: set[str] | None = None,
) -> Task:
    if protocol not in PROTOCOLS:
        raise InvalidOptionError(f"unknown protocol {protocol!r}; use {' or '.join(PROTOCOLS)}")
    if protocol == LEAVE_ONE_OUT:
        gallery = stored_vectors(store, collection, vector_name, split, only)
        chosen = sample_queries(len(gallery.ids), queries, seed)
        query_set = gallery.subset(chosen)
        positions: np.ndarray | None = chosen
        gallery_size = len(gallery.ids) - 1
    else:
        if not query_split or not gallery_split:
            raise InvalidOptionError("the split protocol needs --query-split and --gallery-split (e.g. test and train)")
        gallery = stored_vectors(store, collection, vector_name, gallery_split, only)
        everything = stored_vectors(store, collection, vector_name, query_split, only)
        chosen = sample_queries(len(everything.ids), queries, seed)
        query_set = everything.subset(chosen)
        positions = None
        gallery_size = len(gallery.ids)
    if len(np.unique(gallery.labels)) < 2:
        raise InvalidOptionError(
            f"the gallery of {collection!r} has a single class; retrieval metrics need at least two labels"
        )
    if k > gallery_size:
        raise InvalidOptionError(f"k={k} is larger than the gallery ({gallery_size} items); use a smaller k")
    return Task(protocol, query_set, gallery, positions)


@dataclass(frozen=True)
class ProtocolSpec:
    """How queries and gallery are drawn: leave-one-out within `split`, or `query_split` against `gallery_split`."""

    protocol: str = LEAVE_ONE_OUT
    split: str | None = None
    query_split: str | None = None
    gallery_split: str | None = None

    @property
    def queries_from(self) -> str | None:
        return self.split if self.protocol == LEAVE_ONE_OUT else self.query_split

    @property
    def gallery_from(self) -> str | None:
        return self.split if self.protocol == LEAVE_ONE_OUT else self.gallery_split

    @property
    def splits(self) -> list[str | None]:
        """The splits to encode, each once."""
        return list(dict.fromkeys([self.split] if self.protocol == LEAVE_ONE_OUT else
                                  [self.query_split, self.gallery_split]))
