"""Combining members' vectors: concat(weight_i * normalise(v_i)), and what identifies the members."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from embedkit.errors import ArtifactMismatchError, InvalidOptionError

MEMBER_KEYS = ("vector_name", "encoder", "dim", "weight", "weights", "weights_sha256", "image_size", "layer")


def member_record(vector_name: str, weight: float, info: Mapping[str, Any] | None) -> dict[str, Any]:
    """What identifies a member's vectors: from an encoder's describe() or a store's vector_info()."""
    info = info or {}
    return {
        "vector_name": vector_name,
        "encoder": info.get("encoder", info.get("name")),
        "dim": info.get("dim"),
        "weight": float(weight),
        "weights": info.get("weights"),
        "weights_sha256": info.get("weights_sha256"),
        "image_size": info.get("image_size"),
        "layer": info.get("layer"),
    }


def check_members(artifact: str, expected: Sequence[Mapping[str, Any]], given: Sequence[Mapping[str, Any]]) -> None:
    """Raise ArtifactMismatchError unless `given` members are the ones `artifact` was trained on, in order."""

    def shown(records: Sequence[Mapping[str, Any]]) -> str:
        return " + ".join(str(r["vector_name"]) for r in records)

    if [r["vector_name"] for r in expected] != [r["vector_name"] for r in given]:
        raise ArtifactMismatchError(
            f"{artifact} was built for members {shown(expected)}, but {shown(given)} were given; "
            f"use those members (in that order) or build the artifact again for these"
        )
    for want, have in zip(expected, given):
        for key in ("dim", "weights_sha256", "weight"):
            if want.get(key) is not None and have.get(key) is not None and want[key] != have[key]:
                raise ArtifactMismatchError(
                    f"{artifact} was built for member {want['vector_name']} with {key} {want[key]!r}, "
                    f"but that member now has {key} {have[key]!r}; build the artifact again for these vectors"
                )


def identity_sha256(members: Sequence[Mapping[str, Any]], projection_sha256: str | None) -> str:
    """One hash of what decides an ensemble's vectors: members, their weights and weights files, the projection."""
    keys = ("vector_name", "encoder", "dim", "weight", "weights", "weights_sha256")
    document = {"members": [{k: m.get(k) for k in keys} for m in members], "projection": projection_sha256}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def combine(vectors: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Concatenate each member's L2-normalised vectors times its weight (not normalised again here)."""
    if len(vectors) != len(weights):
        raise InvalidOptionError(f"{len(vectors)} member arrays but {len(weights)} weights")
    return np.concatenate([normalise_rows(np.asarray(v, dtype=np.float32)) * float(w)
                           for v, w in zip(vectors, weights)], axis=1)
