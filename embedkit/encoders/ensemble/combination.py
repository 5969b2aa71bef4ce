"""Combining members' vectors: concat(weight_i * normalise(v_i)), and what identifies the members."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

from embedkit.errors import ArtifactMismatchError, InvalidOptionError
from embedkit.records import MemberRecord

def check_members(artifact: str, expected: Sequence[MemberRecord], given: Sequence[MemberRecord]) -> None:
    """Raise ArtifactMismatchError unless `given` members are the ones `artifact` was trained on, in order."""

    def shown(members: Sequence[MemberRecord]) -> str:
        return " + ".join(member.vector_name for member in members)

    if [m.vector_name for m in expected] != [m.vector_name for m in given]:
        raise ArtifactMismatchError(
            f"{artifact} was built for members {shown(expected)}, but {shown(given)} were given; "
            f"use those members (in that order) or build the artifact again for these"
        )
    for want, have in zip(expected, given):
        for key, wanted, found in (("dim", want.record.dim, have.record.dim),
                                   ("weights_sha256", want.record.weights_sha256, have.record.weights_sha256),
                                   ("weight", want.weight, have.weight)):
            if wanted and found and wanted != found:
                raise ArtifactMismatchError(
                    f"{artifact} was built for member {want.vector_name} with {key} {wanted!r}, "
                    f"but that member now has {key} {found!r}; build the artifact again for these vectors"
                )


def identity_sha256(members: Sequence[MemberRecord], artifact_sha256: str | None) -> str:
    """One hash of what decides an ensemble's vectors: members, their weights and weights files, the artifact."""
    keys = ("vector_name", "encoder", "dim", "weight", "weights", "weights_sha256")
    members_json = [{k: m.to_json().get(k) for k in keys} for m in members]
    document = {"members": members_json, "projection": artifact_sha256}  # "projection": the key 0.1.0 hashed
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
