"""Payloads of stored points: read whole or by field, merged into, fields removed; payload indexes made on request
(so that any Qdrant client filters fast by a field written after ingest, a clustering's `cluster`) and recorded
on the metadata point; and what values an indexed field takes and how often (the labels and splits a user can
filter by)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from embedkit.errors import InvalidOptionError
from embedkit.store import schema
from embedkit.store.backend import ID_CHUNK
from embedkit.store.metadata import CollectionMetadata
from embedkit.store.points import Conditions

FACET_LIMIT = 1000
PAYLOAD_INDEX_KINDS = ("integer", "keyword")
PAYLOAD_FIELD = re.compile(r"[A-Za-z0-9_-]{1,128}(\.[A-Za-z0-9_-]{1,128})*")
"""A payload field `index_field` takes: Qdrant's key syntax without array indexes (`cluster`, `meta.camera`)."""


class Payloads(CollectionMetadata):
    """The payloads of stored points and their payload indexes, through a backend's primitives (it declares none)."""

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

    def payload_values(self, collection: str, sample_ids: Sequence[str], field: str) -> dict[str, Any]:
        """The payload `field` of each stored point among `sample_ids`, by sample id (absent points left out)."""
        ids = [schema.point_id(s) for s in sample_ids]
        found: dict[str, Any] = {}
        for start in range(0, len(ids), ID_CHUNK):
            for record in self._retrieve(collection, ids[start : start + ID_CHUNK], True, []):
                found[str(record.payload.get("sample_id"))] = record.payload.get(field)
        return found

    def set_payloads(self, collection: str, payloads: Mapping[str, dict[str, Any]]) -> None:
        """Merge `payloads` (by sample id) into the payloads of stored points; absent points are left out."""
        self.check_writable(f"change payloads in collection {collection!r}")
        ids = list({schema.point_id(sample_id): payload for sample_id, payload in payloads.items()}.items())
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            present = {record.id for record in self._retrieve(collection, [i for i, _ in chunk], False, [])}
            items = [(point_id, payload) for point_id, payload in chunk if point_id in present]
            if items:
                self._set_payloads(collection, items)

    def delete_payload_fields(self, collection: str, sample_ids: Sequence[str], fields: Sequence[str]) -> None:
        """Remove payload `fields` from these stored points; absent points, and fields a point lacks, are left out."""
        self.check_writable(f"change payloads in collection {collection!r}")
        ids = list(dict.fromkeys(schema.point_id(s) for s in sample_ids))
        for start in range(0, len(ids), ID_CHUNK) if fields else ():
            present = [record.id for record in self._retrieve(collection, ids[start : start + ID_CHUNK], False, [])]
            if present:
                self._delete_payload(collection, present, list(fields))

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
