"""Payload fields an analysis writes its per-point results to: checked before anything is written, then written
with the first one indexed, so that any Qdrant client filters by it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from embedkit.errors import InvalidOptionError
from embedkit.store import Store, schema

FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
RESERVED_FIELDS = frozenset({*schema.INDEXED_FIELDS, "label_name", "source", "content", schema.METADATA_KEY})
"""Payload fields ingest writes: an analysis never overwrites them."""


def check_fields(store: Store, collection: str, fields: dict[str, type], ids: Sequence[str], what: str) -> None:
    """Refuse to write `what` into `fields` ({name: the type of its values}) when a name is not a plain field name,
    is one that ingest writes, or already holds values of another type in a point of `ids`."""
    store.check_writable(f"write {what} into collection {collection!r}")
    for name, kind in fields.items():
        if name in RESERVED_FIELDS or str(name).startswith("content@"):
            raise InvalidOptionError(f"payload field {name!r} is written by ingest; write {what} into another "
                                     f"field (--field)")
        if not isinstance(name, str) or not FIELD_NAME.fullmatch(name):
            raise InvalidOptionError(f"invalid payload field {name!r} for {what}; use letters, digits and '_' "
                                     f"(a digit not first), e.g. --field my_{what.split()[-1]}")
        held = [value for value in store.payload_values(collection, ids, name).values() if value is not None]
        other = next((value for value in held if not _is(value, kind)), None)
        if other is not None:
            raise InvalidOptionError(f"payload field {name!r} of {collection!r} already holds other values (e.g. "
                                     f"{other!r}); write {what} into another field (--field)")


def write_fields(store: Store, collection: str, values: dict[str, dict[str, Any]], indexed: str, command: str) -> int:
    """Merge `values` ({sample id: {field: value}}) into the payloads and index field `indexed` (integer), the
    fields recorded as being written by `command` until the end (`Store.writing_fields`); returns the points
    written."""
    fields = sorted({name for fields in values.values() for name in fields})
    with store.writing_fields(collection, fields, command):
        store.set_payloads(collection, values)
        store.index_field(collection, indexed, "integer")
    return len(values)


def _is(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)
