"""A trained affine map over concatenated member vectors (PCA, a stacker), saved as .npz with its provenance.

The file holds `mean` (d_in,), `matrix` (d_in, d_out) and `provenance` (a JSON string). The map is
`(combine(members) - mean) @ matrix`, then L2 normalisation; numpy is all it needs to be applied.
A `.json` copy of the provenance is written beside it for people to read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedkit.errors import ArtifactMismatchError, InvalidOptionError
from embedkit.weights import file_sha256

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


@dataclass
class Projection:
    mean: np.ndarray
    matrix: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)
    file: Path | None = None
    sha256: str | None = None

    @property
    def members(self) -> list[dict[str, Any]]:
        return list(self.provenance.get("members", []))

    @property
    def kind(self) -> str:
        return str(self.provenance.get("method", "projection"))

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def apply(self, combined: np.ndarray) -> np.ndarray:
        """Project concatenated member vectors and L2-normalise the rows."""
        if combined.shape[1] != self.matrix.shape[0]:
            raise ArtifactMismatchError(
                f"{self.file or 'the projection'} takes {self.matrix.shape[0]}-d inputs, got {combined.shape[1]}-d"
            )
        return normalise_rows((combined - self.mean) @ self.matrix)

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        if path.suffix != ".npz":
            raise InvalidOptionError(f"save the artifact as a .npz file, not {path.name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.provenance, indent=2, sort_keys=True, default=str)
        with open(path, "wb") as stream:
            np.savez(stream, mean=self.mean.astype(np.float32), matrix=self.matrix.astype(np.float32),
                     provenance=np.array(text))
        path.with_suffix(".json").write_text(text + "\n")
        self.file, self.sha256 = path, file_sha256(path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Projection:
        path = Path(path).expanduser()
        if not path.is_file():
            raise ArtifactMismatchError(f"artifact {str(path)!r} does not exist; pass the .npz file it was saved as")
        try:
            with np.load(path, allow_pickle=False) as data:
                mean, matrix = data["mean"], data["matrix"]
                provenance = json.loads(str(data["provenance"]))
        except Exception as error:
            raise ArtifactMismatchError(
                f"{path} is not an embedkit projection artifact ({str(error).splitlines()[0] if str(error) else error})"
            ) from None
        if matrix.ndim != 2 or mean.shape != (matrix.shape[0],):
            raise ArtifactMismatchError(f"{path} holds a mean of shape {mean.shape} and a matrix of {matrix.shape}")
        return cls(mean.astype(np.float32), matrix.astype(np.float32), provenance, path, file_sha256(path))


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def combine(vectors: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Concatenate each member's L2-normalised vectors times its weight (not normalised again here)."""
    if len(vectors) != len(weights):
        raise InvalidOptionError(f"{len(vectors)} member arrays but {len(weights)} weights")
    return np.concatenate([normalise_rows(np.asarray(v, dtype=np.float32)) * float(w)
                           for v, w in zip(vectors, weights)], axis=1)
