"""Ensemble encoders: `ensemble:a+b*0.5+c` concatenates members' vectors; `stack:FILE.npz` adds a trained map.

Both run every member on the image (or text) and compute exactly what `embedkit.analysis.ensembles` computes
from stored member vectors: concat(weight_i * normalise(v_i)), then an optional projection
(PCA, a stacker), then L2 normalisation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from embedkit.encoders.base import Encoder
from embedkit.errors import ArtifactMismatchError, InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.encoders.ensemble.artifact import EnsembleArtifact
from embedkit.encoders.ensemble.combination import check_members, identity_sha256, member_record
from embedkit.encoders.ensemble.spec import parse_members, spec_name
from embedkit.encoders.weights import RANDOM

EXAMPLE = "ensemble:mobilenet_v2+clip:ViT-S-32-alt"


def build_member(name: str, **options: Any) -> Encoder:
    """An encoder by registry name; `NAME.random` (as stored for random weights) is NAME with weights none."""
    from embedkit.encoders import ENCODERS, get_encoder

    given = {key: value for key, value in options.items() if value is not None}
    if name in ENCODERS:
        return get_encoder(name, **given)
    base, dot, tag = name.rpartition(".")
    if dot and tag == "random" and base in ENCODERS:
        return get_encoder(base, **{**given, "weights": RANDOM})
    return get_encoder(name, **given)  # raises the unknown-name error with close matches


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
    """Members' L2-normalised vectors, weighted and concatenated, optionally projected, normalised again."""

    def __init__(
        self,
        members: Sequence[Encoder],
        weights: Sequence[float] | None = None,
        *,
        projection: EnsembleArtifact | None = None,
        name: str | None = None,
        device: str | torch.device = "auto",
        precision: str = "fp32",
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
        self.records = [member_record(m.vector_name, w, m.describe()) for m, w in zip(self.members, self.weights)]
        self.projection = projection
        if projection is not None:
            check_members(str(projection.file or "the projection"), projection.members, self.records)
        spec = spec_name([m.vector_name for m in self.members], self.weights)
        suffix = "" if projection is None else f"-{projection.kind}{projection.dim}"
        self.name = name or f"ensemble:{spec}{suffix}"
        self.dim = projection.dim if projection is not None else sum(m.dim for m in self.members)
        if images:
            self.transform = PackedTransform(tuple(getattr(m, "transform", None) or m.preprocess for m in self.members))
            probe = Image.new("RGB", (64, 48))
            self._shapes = [tuple(m.preprocess(probe).shape[1:]) for m in self.members]
        self._projection_tensors: tuple[torch.Tensor, torch.Tensor] | None = None

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        if not self.embeds_images:
            return super().preprocess(image)
        return self.transform(image)

    def forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        if not self.embeds_images:
            return super().forward_images(pixels)
        flat = pixels.reshape(pixels.shape[0], 3, -1)
        parts = torch.split(flat, [h * w for h, w in self._shapes], dim=2)
        outputs = [
            member.forward_images(part.reshape(-1, 3, h, w).contiguous(memory_format=torch.channels_last))
            for member, part, (h, w) in zip(self.members, parts, self._shapes)
        ]
        return self._combine(outputs)

    def forward_texts(self, texts: list[str]) -> torch.Tensor:
        if not self.embeds_text:
            return super().forward_texts(texts)
        return self._combine([member.forward_texts(texts) for member in self.members])

    def _combine(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        combined = torch.cat([torch.nn.functional.normalize(v.float(), dim=1) * w
                              for v, w in zip(outputs, self.weights)], dim=1)
        if self.projection is None:
            return combined
        if self._projection_tensors is None:
            self._projection_tensors = (torch.from_numpy(self.projection.mean).to(self.device),
                                        torch.from_numpy(self.projection.matrix).to(self.device))
        mean, matrix = self._projection_tensors
        with torch.autocast(device_type=self.device.type, enabled=False):
            return (combined.float() - mean) @ matrix

    @property
    def weights_sha256(self) -> str:
        return identity_sha256(self.records, None if self.projection is None else self.projection.sha256)

    def describe(self) -> dict[str, Any]:
        projection = None
        if self.projection is not None:
            projection = {"method": self.projection.kind, "dim": self.projection.dim,
                          "file": str(self.projection.file) if self.projection.file else None,
                          "sha256": self.projection.sha256}
        return {
            **super().describe(),
            "members": self.records,
            "weights": "members",
            "weights_sha256": self.weights_sha256,
            "projection": projection,
        }


def create_ensemble(
    argument: str | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    pca: str | os.PathLike[str] | None = None,
    device: str | torch.device = "auto",
    precision: str = "fp32",
    **member_options: Any,
) -> EnsembleEncoder:
    """`ensemble:a+b*0.5`: members by name, each built with `member_options` (image_size, layer);
    `weights="none"` gives every member random weights; `pca=FILE.npz` applies a PCA saved by
    `embedkit.analysis.ensembles.build_from_store(..., pca_dim=K)`."""
    members = parse_members(argument)
    if weights is not None and str(weights).lower() not in (RANDOM, "random"):
        raise InvalidOptionError(
            "an ensemble passes --weights to every member: leave it out for their pretrained weights, or use "
            "'none'; for a member's own checkpoint, build the members and use EnsembleEncoder([...])"
        )
    encoders = [build_member(m.name, weights=weights, device=device, precision=precision, **member_options)
                for m in members]
    projection = EnsembleArtifact.load(pca) if pca is not None else None
    return EnsembleEncoder(encoders, [m.weight for m in members], projection=projection, device=device,
                           precision=precision)


def rebuild_member(record: Mapping[str, Any], **options: Any) -> Encoder:
    """The encoder that made a stored member's vectors, from its record (name, weights tag, image size, layer)."""
    tag = str(record.get("weights") or "")
    if tag.startswith("ckpt"):
        raise ArtifactMismatchError(
            f"member {record['vector_name']} was encoded with a local checkpoint; build that encoder yourself "
            f"(get_encoder(NAME, weights=PATH)) and pass members=[...]"
        )
    given = {"image_size": record.get("image_size"), "layer": record.get("layer"), **options}
    return build_member(str(record.get("encoder")), **given)


def create_stack(
    argument: str | None,
    *,
    members: Sequence[Encoder] | None = None,
    device: str | torch.device = "auto",
    precision: str = "fp32",
    **member_options: Any,
) -> EnsembleEncoder:
    """`stack:FILE.npz`: a stacker trained by `embedkit.analysis.stacking.train_stacker`, with the members it was
    trained on (rebuilt from its provenance, or given as `members`)."""
    if not argument:
        raise InvalidOptionError("stack: needs an artifact, e.g. stack:models/stacker.npz")
    projection = EnsembleArtifact.load(argument)
    records = projection.members
    if members is None:
        members = [rebuild_member(r, device=device, precision=precision, **member_options) for r in records]
    return EnsembleEncoder(members, [float(r.get("weight", 1.0)) for r in records], projection=projection,
                           name=f"stack:{Path(argument).stem}", device=device, precision=precision)


@hookimpl
def register_encoders(register: Callable[..., None]) -> None:
    register(
        "ensemble:",
        create_ensemble,
        dim=None,
        modality="image",
        weights="members'",
        examples=(EXAMPLE,),
        description="concatenated L2-normalised members: ensemble:resnet50+densenet121*0.5 (optional pca=FILE.npz)",
    )
    register(
        "stack:",
        create_stack,
        dim=None,
        modality="image",
        weights="FILE.npz",
        description="a stacking meta-model over members' features, trained by `embedkit stack train`: stack:FILE.npz",
    )
