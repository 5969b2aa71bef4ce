"""Payload indexes beyond every collection's own (schema.INDEXED_FIELDS): made on request, so that any Qdrant
client filters fast by a field written after ingest (a clustering's `cluster`), and recorded on the metadata point."""

from __future__ import annotations

import re

from embedkit.errors import InvalidOptionError
from embedkit.store import schema
from embedkit.store.metadata import CollectionMetadata

PAYLOAD_INDEX_KINDS = ("integer", "keyword")
PAYLOAD_FIELD = re.compile(r"[A-Za-z0-9_-]{1,128}(\.[A-Za-z0-9_-]{1,128})*")
"""A payload field `index_field` takes: Qdrant's key syntax without array indexes (`cluster`, `meta.camera`)."""


class PayloadIndexes(CollectionMetadata):
    """Payload indexes a store adds to a collection, through a backend's `_create_field_index`."""

    def index_field(self, collection: str, field: str, kind: str = "integer") -> None:
        """Give payload `field` a payload index of `kind` ("integer" or "keyword"), so that any Qdrant client
        filters on it fast; idempotent, and recorded on the metadata point (see `indexed_fields`)."""
        self.check_writable(f"index payload field {field!r} of collection {collection!r}")
        if kind not in PAYLOAD_INDEX_KINDS:
            raise InvalidOptionError(f"unknown payload index kind {kind!r}; use one of "
                                     f"{', '.join(PAYLOAD_INDEX_KINDS)}")
        if not isinstance(field, str) or not PAYLOAD_FIELD.fullmatch(field):
            raise InvalidOptionError(f"invalid payload field name {field!r}; use letters, digits, '_' and '-' "
                                     f"(a nested field: a.b), at most 128 characters")
        builtin = schema.INDEXED_FIELDS.get(field)
        if builtin not in (None, kind):
            raise InvalidOptionError(f"payload field {field!r} holds {builtin} values in every embedkit collection "
                                     f"and is indexed so; pick another field name")
        if not self._has_collection(collection):
            raise InvalidOptionError(f"collection {collection!r} does not exist in {self.location}; "
                                     f"`embedkit collections` lists them")
        self._create_field_index(collection, field, kind)
        metadata = self._read_metadata(collection)
        if builtin is None and (metadata.get("indexed_fields") or {}).get(field) != kind:
            metadata["indexed_fields"] = {**(metadata.get("indexed_fields") or {}), field: kind}
            self._write_metadata(collection, metadata)

    def indexed_fields(self, collection: str) -> dict[str, str]:
        """The payload fields with a payload index, and their kinds: every collection's (schema.INDEXED_FIELDS)
        and those `index_field` added. Empty when the collection does not exist."""
        if not self._has_collection(collection):
            return {}
        return {**schema.INDEXED_FIELDS, **(self._read_metadata(collection).get("indexed_fields") or {})}

    def _create_field_index(self, collection: str, field: str, kind: str) -> None:
        """Create a payload index of `kind` on `field`, or keep the one there is; each backend implements it."""
        raise NotImplementedError
