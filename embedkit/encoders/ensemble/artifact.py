"""A trained affine map over combined member vectors (a PCA, a stacker), saved as .npz with its provenance.

The file holds `mean` (d_in,), `matrix` (d_in, d_out) and `provenance` (a JSON string). The map is
`(combine(members) - mean) @ matrix`, then L2 normalisation; numpy is all it needs to be applied.
A `.json` copy of the provenance is written beside it for people to read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedkit.encoders.ensemble.combination import normalise_rows
from embedkit.encoders.weights import file_sha256
from embedkit.errors import ArtifactMismatchError, InvalidOptionError, first_line
from embedkit.records import MemberRecord, ArtifactRecord


@dataclass
class EnsembleArtifact:
    """A PCA or a stacker: `(combined members - mean) @ matrix`, with the provenance it was saved with."""

    mean: np.ndarray
    matrix: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)
    file: Path | None = None
    sha256: str | None = None

    @property
    def members(self) -> list[MemberRecord]:
        """The members it was trained on, as their records were when it was."""
        return [MemberRecord.from_json(member) for member in self.provenance.get("members", [])]

    @property
    def record(self) -> ArtifactRecord:
        return ArtifactRecord(self.kind, self.dim, self.sha256, None if self.file is None else str(self.file))

    @property
    def kind(self) -> str:
        return str(self.provenance.get("method", "artifact"))

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def apply(self, combined: np.ndarray) -> np.ndarray:
        """Project concatenated member vectors and L2-normalise the rows."""
        if combined.shape[1] != self.matrix.shape[0]:
            raise ArtifactMismatchError(
                f"{self.file or 'the artifact'} takes {self.matrix.shape[0]}-d inputs, got {combined.shape[1]}-d"
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
        self.file, self.sha256 = path.resolve(), file_sha256(path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EnsembleArtifact:
        path = Path(path).expanduser().resolve()
        if not path.is_file():
            raise ArtifactMismatchError(f"artifact {str(path)!r} does not exist; pass the .npz file it was saved as")
        try:
            with np.load(path, allow_pickle=False) as data:
                mean, matrix = data["mean"], data["matrix"]
                provenance = json.loads(str(data["provenance"]))
        except Exception as error:
            raise ArtifactMismatchError(
                f"{path} is not an embedkit ensemble artifact ({first_line(error)})"
            ) from error
        if matrix.ndim != 2 or mean.shape != (matrix.shape[0],):
            raise ArtifactMismatchError(f"{path} holds a mean of shape {mean.shape} and a matrix of {matrix.shape}")
        return cls(mean.astype(np.float32), matrix.astype(np.float32), provenance, path, file_sha256(path))
