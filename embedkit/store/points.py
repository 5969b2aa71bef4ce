"""What a store takes and gives back: hits, stored points, the conditions a backend turns into a filter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from embedkit.records import VectorRecord


@dataclass
class Hit:
    """One search result."""

    sample_id: str
    score: float
    payload: dict[str, Any]


@dataclass
class VectorSummary:
    """One named vector of a collection: its dimension, how many points have it, and what made it."""

    name: str
    dim: int | None
    points: int
    record: VectorRecord | None


@dataclass
class CollectionInfo:
    name: str
    points: int
    vectors: dict[str, VectorSummary] = field(default_factory=dict)
    default_vector: str | None = None
    half_written: list[str] = field(default_factory=list)
    """One line per command that left payload fields half-written (Store.half_written)."""


@dataclass
class Conditions:
    """What a backend turns into a Qdrant filter. The metadata point is always excluded."""

    match: dict[str, Any] = field(default_factory=dict)
    has_vectors: list[str] = field(default_factory=list)
    ids: list[str] | None = None
    exclude_ids: list[str] = field(default_factory=list)
    filter: Any = None
    """A filter in Qdrant's language (a qdrant_client `models.Filter`), which points must match too."""


@dataclass
class PointRecord:
    id: str
    vectors: dict[str, Any]
    payload: dict[str, Any]


@dataclass
class ScoredRecord:
    id: str
    score: float
    payload: dict[str, Any]
