"""Which points a store call means (embedkit's `Conditions`), as the filter a Qdrant server takes: qdrant_client's
models, the metadata point always left out."""

from __future__ import annotations

from typing import Any

from qdrant_client import models as m

from embedkit.store import schema
from embedkit.store.points import Conditions


def conditions_filter(conditions: Conditions) -> m.Filter:
    must: list[Any] = []
    for key, value in conditions.match.items():
        if isinstance(value, (list, tuple, set, frozenset)):
            must.append(m.FieldCondition(key=key, match=m.MatchAny(any=list(value))))
        else:
            must.append(m.FieldCondition(key=key, match=m.MatchValue(value=value)))
    must.extend(m.HasVectorCondition(has_vector=name) for name in conditions.has_vectors)
    if conditions.ids is not None:
        must.append(m.HasIdCondition(has_id=list(conditions.ids)))
    if conditions.filter is not None:
        must.append(conditions.filter)
    excluded = [schema.METADATA_POINT_ID, *conditions.exclude_ids]
    return m.Filter(must=must or None, must_not=[m.HasIdCondition(has_id=excluded)])
