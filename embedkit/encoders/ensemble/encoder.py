"""The ensemble encoder: `ensemble:a+b*0.5+c` concatenates members' vectors; `stack:FILE.npz` adds a trained map.

Both run every member on the image (or text) and compute exactly what `embedkit.analysis.ensembles`
computes from stored member vectors: concat(weight_i * normalise(v_i)), then an optional trained map
(a PCA, a stacker), then L2 normalisation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from embedkit.encoders.base import Encoder
from embedkit.encoders.ensemble.artifact import EnsembleArtifact
from embedkit.encoders.ensemble.combination import check_members, identity_sha256
from embedkit.encoders.names import spec_name
from embedkit.errors import InvalidOptionError
from embedkit.records import MemberRecord, VectorRecord


@dataclass(frozen=True)
class PackedTransform:
    """Every member's preprocessing of one image, flattened per channel into one (3, 1, L) tensor.

    Members need different input sizes; packing them keeps the one-tensor-per-image contract that
    batching and DataLoader workers rely on. `EnsembleEncoder.forward_images` unpacks them.
    """

    transforms: tuple[Callable[[Image.Image], torch.Tensor], ...]

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return torch.cat([t(image).float().reshape(3, -1) for t in self.transforms], dim=1).unsqueeze(1)


class EnsembleEncoder(Encoder):
    """Members' L2-normalised vectors, weighted and concatenated, optionally mapped, normalised again."""

    def __init__(
        self,
        members: Sequence[Encoder],
        weights: Sequence[float] | None = None,
        *,
        artifact: EnsembleArtifact | None = None,
        name: str | None = None,
        device: str | torch.device = "auto",
        precision: str = "auto",
    ):
        super().__init__(device=device, precision=precision)
        self.members = list(members)
        self.weights = [float(w) for w in (weights or [1.0] * len(self.members))]
        if len(self.members) < 2 or len(self.weights) != len(self.members):
            raise InvalidOptionError(f"an ensemble needs two or more members, each with one weight; got "
                                     f"{len(self.members)} members and {len(self.weights)} weights")
        images = all(m.embeds_images for m in self.members)
        texts = all(m.embeds_text for m in self.members)
        if not (images or texts):
            raise InvalidOptionError(
                f"ensemble members {[m.name for m in self.members]} share no modality: all must embed images, "
                f"or all text"
            )
        self.modality = "image+text" if images and texts else "image" if images else "text"
        self.member_records = tuple(MemberRecord(m.vector_name, w, m.record) for m, w in zip(self.members, self.weights))
        self.artifact = artifact
        if artifact is not None:
            check_members(str(artifact.file or "the artifact"), artifact.members, self.member_records)
        spec = spec_name([m.vector_name for m in self.members], self.weights)
        suffix = "" if artifact is None else f"-{artifact.kind}{artifact.dim}"
        self.name = name or f"ensemble:{spec}{suffix}"
        self.dim = artifact.dim if artifact is not None else sum(m.dim for m in self.members)
        if images:
            self.transform = PackedTransform(tuple(getattr(m, "transform", None) or m.preprocess for m in self.members))
            probe = Image.new("RGB", (64, 48))
            self._shapes = [tuple(m.preprocess(probe).shape[1:]) for m in self.members]
        self._artifact_tensors: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        flat = pixels.reshape(pixels.shape[0], 3, -1)
        parts = torch.split(flat, [h * w for h, w in self._shapes], dim=2)
        outputs = [
            member.forward_images(part.reshape(-1, 3, h, w).contiguous(memory_format=torch.channels_last))
            for member, part, (h, w) in zip(self.members, parts, self._shapes)
        ]
        return self._combine(outputs)

    def forward_texts(self, texts: list[str]) -> torch.Tensor:
        return self._combine([member.forward_texts(texts) for member in self.members])

    def _combine(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        combined = torch.cat([torch.nn.functional.normalize(v.float(), dim=1) * w
                              for v, w in zip(outputs, self.weights)], dim=1)
        if self.artifact is None:
            return combined
        if self._artifact_tensors is None:
            self._artifact_tensors = (torch.from_numpy(self.artifact.mean).to(self.device),
                                      torch.from_numpy(self.artifact.matrix).to(self.device))
        mean, matrix = self._artifact_tensors
        with torch.autocast(device_type=self.device.type, enabled=False):
            return (combined.float() - mean) @ matrix

    @property
    def input_size(self) -> int | None:
        sizes = [member.input_size for member in self.members]
        return None if None in sizes else max(sizes)  # type: ignore[type-var]

    @property
    def weights_sha256(self) -> str:
        return identity_sha256(self.member_records, None if self.artifact is None else self.artifact.sha256)

    @property
    def record(self) -> VectorRecord:
        return VectorRecord(
            self.name, self.dim, self.modality, architecture="ensemble", weights="members",
            weights_sha256=self.weights_sha256, precision=self.precision, members=self.member_records,
            artifact=None if self.artifact is None else self.artifact.record,
        )
