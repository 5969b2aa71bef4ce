"""The collection schema every embedkit store writes, so that any Qdrant client can read it (docs/store.md)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any

from embedkit.encoders.names import canonical
from embedkit.errors import InvalidOptionError, SchemaMismatchError
from embedkit.records import MemberRecord, VectorRecord

SCHEMA_VERSION = 2
"""2: each vector's record is structured (embedkit.records); 1 (embedkit 0.1.0) kept preprocessing as text."""
DISTANCE = "Cosine"

# Point id of a sample = uuid5(SAMPLE_NAMESPACE, sample_id); SAMPLE_NAMESPACE = uuid5(NAMESPACE_URL, "embedkit:sample").
SAMPLE_NAMESPACE = uuid.UUID("b2620de6-f3b5-53cc-b7aa-74a2f0d9e6f9")
# The nil UUID can never be a uuid5, so the metadata point cannot collide with a sample.
METADATA_POINT_ID = "00000000-0000-0000-0000-000000000000"
METADATA_KEY = "embedkit_metadata"

# Payload fields that get a payload index, with their Qdrant schema type.
INDEXED_FIELDS: dict[str, str] = {"dataset": "keyword", "split": "keyword", "label": "integer", "sample_id": "keyword"}

_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def point_id(sample_id: str) -> str:
    """The Qdrant point id of a sample: deterministic, so re-runs overwrite instead of duplicating."""
    return str(uuid.uuid5(SAMPLE_NAMESPACE, str(sample_id)))


def check_collection_name(name: str) -> str:
    if not isinstance(name, str) or not _COLLECTION_NAME.match(name):
        raise InvalidOptionError(
            f"invalid collection name {name!r}; use letters, digits, '_', '-' and '.', not starting with '.' or '-'"
        )
    return name


def check_vector_name(name: str) -> str:
    if not isinstance(name, str) or not name or name != name.strip():
        raise InvalidOptionError(f"invalid vector name {name!r}; use a non-empty name such as the encoder's name")
    return name


def record_document(record: VectorRecord) -> dict[str, Any]:
    """What the metadata point keeps for one vector name: the record's fields, the distance, and when."""
    return {**record.to_json(), "distance": DISTANCE,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def stored_record(document: dict[str, Any]) -> VectorRecord:
    """The record kept for a vector name, as any schema version wrote it, its encoder in today's spelling."""
    return _in_current_spelling(VectorRecord.from_json(document))


def _in_current_spelling(record: VectorRecord) -> VectorRecord:
    members = tuple(MemberRecord(canonical(member.vector_name), member.weight, _in_current_spelling(member.record))
                    for member in record.members)
    return record.replace(encoder=canonical(record.encoder), members=members)


def describe_record(record: VectorRecord) -> str:
    """One line naming what is stored under a vector name."""
    parts = [f"encoder {record.encoder!r}", f"dim {record.dim}"]
    if record.weights:
        parts.append(f"weights {record.weights!r}")
    if record.weights_sha256:
        parts.append(f"sha256 {record.weights_sha256[:12]}")
    return ", ".join(parts)


def mismatch_error(collection: str, vector_name: str, stored: VectorRecord, wanted: VectorRecord) -> SchemaMismatchError:
    conflicts = stored.differences(wanted)
    if conflicts == ["reading"] and stored.reading is not None:
        decoding = "reduced JPEG decoding" if stored.reading.reduced_decoding else "--full-decode"
        return SchemaMismatchError(
            f"collection {collection!r} stores vector {vector_name!r} from images read with --background "
            f"{stored.reading.background} and {decoding}; ingest with the same options to add to it, or into "
            f"another --collection"
        )
    return SchemaMismatchError(
        f"collection {collection!r} stores vector {vector_name!r} as {describe_record(stored)}, "
        f"but {describe_record(wanted)} was given (differs in {', '.join(conflicts)}); "
        f"use another --collection, or a vector name of its own for this encoder"
    )


def check_query_dim(collection: str, vector_name: str, stored_dim: int, vector_dim: int) -> None:
    if stored_dim != vector_dim:
        raise SchemaMismatchError(
            f"collection {collection!r} stores vector {vector_name!r} with dim {stored_dim}, "
            f"but a query vector of dim {vector_dim} was given; query with the encoder that filled it"
        )


def check_filter(filter: dict[str, Any] | None) -> dict[str, Any]:
    """A filter is {field: value} (match) or {field: [values]} (match any); all fields must match."""
    if not filter:
        return {}
    for key, value in filter.items():
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        if not values or not all(isinstance(v, (str, int, bool)) for v in values):
            raise InvalidOptionError(
                f"filter {key}={value!r} is not supported; match a string, an integer or a list of them"
            )
    return dict(filter)
