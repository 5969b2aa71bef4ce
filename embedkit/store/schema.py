"""The collection schema every embedkit store writes, so that any Qdrant client can read it (docs/store.md)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any

from embedkit.errors import InvalidOptionError, SchemaMismatchError

SCHEMA_VERSION = 1
DISTANCE = "Cosine"

# Point id of a sample = uuid5(SAMPLE_NAMESPACE, sample_id); SAMPLE_NAMESPACE = uuid5(NAMESPACE_URL, "embedkit:sample").
SAMPLE_NAMESPACE = uuid.UUID("b2620de6-f3b5-53cc-b7aa-74a2f0d9e6f9")
# The nil UUID can never be a uuid5, so the metadata point cannot collide with a sample.
METADATA_POINT_ID = "00000000-0000-0000-0000-000000000000"
METADATA_KEY = "embedkit_metadata"

# Payload fields that get a payload index, with their Qdrant schema type.
INDEXED_FIELDS: dict[str, str] = {"dataset": "keyword", "split": "keyword", "label": "integer", "sample_id": "keyword"}

# Encoder-info keys that decide whether two sets of vectors are comparable.
IDENTITY_KEYS = ("encoder", "dim", "weights", "weights_sha256", "layer", "image_size", "preprocessing")

_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


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


def vector_record(dim: int, encoder_info: dict[str, Any], embedkit_version: str) -> dict[str, Any]:
    """What the metadata point records for one vector name."""
    preprocessing = encoder_info.get("preprocessing")
    return {
        "encoder": encoder_info.get("name"),
        "dim": int(dim),
        "distance": DISTANCE,
        "weights": encoder_info.get("weights"),
        "weights_sha256": encoder_info.get("weights_sha256"),
        "layer": encoder_info.get("layer"),
        "image_size": encoder_info.get("image_size"),
        "preprocessing": None if preprocessing is None else str(preprocessing),
        "modality": encoder_info.get("modality"),
        "precision": encoder_info.get("precision"),
        "embedkit_version": embedkit_version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "encoder_info": _jsonable(encoder_info),
    }


def identity_conflicts(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The identity keys on which two vector records disagree (a key missing on either side is not compared,
    except encoder and dim)."""
    conflicts = []
    for key in IDENTITY_KEYS:
        a, b = stored.get(key), wanted.get(key)
        if key == "preprocessing" and a is not None and b is not None:
            a, b = _MEMORY_ADDRESS.sub("", a), _MEMORY_ADDRESS.sub("", b)
        if key in ("encoder", "dim") or (a is not None and b is not None):
            if a != b:
                conflicts.append(key)
    return conflicts


def describe_record(record: dict[str, Any]) -> str:
    """One line naming what is stored under a vector name."""
    weights = record.get("weights")
    sha = record.get("weights_sha256")
    parts = [f"encoder {record.get('encoder')!r}", f"dim {record.get('dim')}"]
    if weights:
        parts.append(f"weights {weights!r}")
    if sha:
        parts.append(f"sha256 {str(sha)[:12]}")
    return ", ".join(parts)


def mismatch_error(collection: str, vector_name: str, stored: dict[str, Any], wanted: dict[str, Any]) -> SchemaMismatchError:
    conflicts = identity_conflicts(stored, wanted)
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
