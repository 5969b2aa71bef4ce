"""Paging through a collection by payload filter, with no query: what FiftyOne users call browsing."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

from embedkit.errors import InvalidOptionError
from embedkit.store import Store, using_store

log = logging.getLogger(__name__)

MAX_PAGE = 1000
"""Points one page holds at most."""
SKIP_CHUNK = 1000


@dataclass
class BrowsedPoint:
    """One stored point: its sample id and payload (no vector, no score)."""

    sample_id: str
    payload: dict[str, Any]
    score: float | None = None
    """Always None: a browsed point answers no query (the field lets grids draw it as a hit)."""


@dataclass
class BrowsePage:
    """One page of the points that match a filter, in the store's order, and how to ask for the next one."""

    collection: str
    filter: dict[str, Any]
    matching: int
    """How many points match the filter in all."""
    points: list[BrowsedPoint] = field(default_factory=list)
    next_offset: str | None = None
    """The `offset` of the next page (None: this page is the last)."""
    warnings: list[str] = field(default_factory=list)
    """One line per payload field the filter names that a writer left half-written (also logged), as search says."""

    def to_json(self) -> dict[str, Any]:
        return {"collection": self.collection, "filter": self.filter, "matching": self.matching,
                "points": [{"sample_id": p.sample_id, "payload": p.payload} for p in self.points],
                "next_offset": self.next_offset, "warnings": self.warnings}


def check_offset(offset: str | int | None) -> str | int | None:
    """An offset is a number of points to skip, or the `next_offset` a page returned (a point id)."""
    if offset is None or isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0:
        return offset
    text = str(offset)
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        return str(uuid.UUID(text))
    except ValueError as error:
        raise InvalidOptionError(f"offset {text!r} is neither a number of points to skip nor the next_offset a page "
                                 f"returned (a point id such as 4f1cfd2a-735d-5d14-b1d5-4d548b9b102d)") from error


def browse(collection: str, *, store: Store | str | os.PathLike[str] | None = None,
           filter: dict[str, Any] | None = None, limit: int = 20, offset: str | int | None = None) -> BrowsePage:
    """Up to `limit` points of `collection` whose payloads match `filter` ({field: value} or {field: [any of]}),
    in the store's order. `offset` is a number of matching points to skip, or the `next_offset` of the page before.
    `store` is a Store, or where one is (None: the default store). No image is encoded and no vector read."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidOptionError(f"a page holds 1 to {MAX_PAGE} points, not {limit}; e.g. --limit 20")
    start = check_offset(offset)
    with using_store(store) as target:
        matching = target.count_filtered(collection, filter)
        warnings = target.half_written(collection, list(filter)) if filter else []
        for line in warnings:  # the page is filtered by values that are partly from an earlier run
            log.warning(line)
        token = start if isinstance(start, str) else None
        skip = start if isinstance(start, int) else 0
        while skip:  # a numeric offset: read past that many points, ids only
            chunk, token = target.page(collection, filter, limit=min(skip, SKIP_CHUNK), offset=token)
            skip = 0 if token is None else skip - len(chunk)
            if token is None:
                return BrowsePage(collection, dict(filter or {}), matching, warnings=warnings)
        pairs, following = target.page(collection, filter, limit=limit, offset=token)
    return BrowsePage(collection, dict(filter or {}), matching,
                      [BrowsedPoint(sample_id, payload) for sample_id, payload in pairs], following, warnings)
