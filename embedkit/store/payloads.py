"""Reading payloads: whole payloads by sample id, and what values a field takes and how often (the labels and
splits a user can filter by)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from embedkit.errors import InvalidOptionError
from embedkit.store import schema
from embedkit.store.indexes import PayloadIndexes
from embedkit.store.points import Conditions

FACET_LIMIT = 1000


class Payloads(PayloadIndexes):
    """Payloads of stored points, and counts by value of an indexed payload field (a backend's `_facet`)."""

    def payloads(self, collection: str, sample_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The payload of each stored point among `sample_ids`, by sample id (absent points left out)."""
        ids = [schema.point_id(sample_id) for sample_id in sample_ids]
        return {str(record.payload.get("sample_id")): record.payload for record in self._retrieve(collection, ids, True, [])}

    def facet(self, collection: str, field: str, limit: int = FACET_LIMIT) -> dict[Any, int]:
        """The `limit` most frequent values of payload `field` and how many points hold each, most frequent
        first. The field needs a payload index (every collection's label, split, dataset; `index_field`)."""
        if field not in self.indexed_fields(collection):
            raise InvalidOptionError(f"payload field {field!r} of collection {collection!r} has no payload index; "
                                     f"index it first: embedkit collections index {collection} {field}")
        return dict(self._facet(collection, field, int(limit), Conditions()))

    def label_names(self, collection: str, labels: list[int]) -> dict[int, str]:
        """The `label_name` stored with each of `labels` (read from one point per label); absent when none is."""
        names = {}
        for label in labels:
            records, _ = self._scroll(collection, Conditions(match={"label": label}), [], True, 1, None)
            if records and records[0].payload.get("label_name") is not None:
                names[label] = str(records[0].payload["label_name"])
        return names

    def _facet(self, collection: str, field: str, limit: int, conditions: Conditions) -> list[tuple[Any, int]]:
        """(value, count) pairs of `field` among the points matching `conditions`; each backend implements it."""
        raise NotImplementedError
