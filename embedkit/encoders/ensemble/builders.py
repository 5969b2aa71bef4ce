"""The ensemble builders: `ensemble:a+b*0.5` from members by name, `stack:FILE.npz` from a trained stacker and the
members it records, and one member by name."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from embedkit.encoders.base import Encoder
from embedkit.encoders.ensemble.artifact import EnsembleArtifact
from embedkit.encoders.ensemble.encoder import EnsembleEncoder
from embedkit.encoders.names import RANDOM, parse_members, weights_option
from embedkit.encoders.rebuild import encoder_from_record
from embedkit.errors import InvalidOptionError


def build_member(name: str, **options: Any) -> Encoder:
    """An encoder by name (any spelling of the grammar), with the options that are set."""
    from embedkit.encoders import get_encoder

    return get_encoder(name, **{key: value for key, value in options.items() if value is not None})


def create_ensemble(
    argument: str | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    pca: str | os.PathLike[str] | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
    **member_options: Any,
) -> EnsembleEncoder:
    """`ensemble:a+b*0.5`: members by name, each built with `member_options` (image_size, layer);
    `weights="random"` gives every member random weights; `pca=FILE.npz` applies a PCA saved by
    `embedkit.analysis.ensembles.build_from_store(..., pca_dim=K)`."""
    members = parse_members(argument)
    weights = weights_option(weights)
    if weights is not None and weights != RANDOM:
        raise InvalidOptionError(
            "an ensemble passes --weights to every member: leave it out for their pretrained weights, or name "
            "members NAME.random; for a member's own checkpoint, build the members and use EnsembleEncoder([...])"
        )
    encoders = [build_member(m.name, weights=weights, device=device, precision=precision, **member_options)
                for m in members]
    artifact = EnsembleArtifact.load(pca) if pca is not None else None
    return EnsembleEncoder(encoders, [m.weight for m in members], artifact=artifact, device=device,
                           precision=precision)


def create_stack(
    argument: str | None,
    *,
    members: Sequence[Encoder] | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
    **member_options: Any,
) -> EnsembleEncoder:
    """`stack:FILE.npz`: a stacker trained by `embedkit.analysis.stacking.train_stacker`, with the members it
    was trained on (rebuilt from its provenance, or given as `members`)."""
    if not argument:
        raise InvalidOptionError("stack: needs an artifact, e.g. stack:models/stacker.npz")
    artifact = EnsembleArtifact.load(argument)
    records = artifact.members
    if members is None:
        members = [encoder_from_record(m.record, device=device, precision=precision, **member_options)
                   for m in records]
    return EnsembleEncoder(members, [m.weight for m in records], artifact=artifact,
                           name=f"stack:{Path(argument).stem}", device=device, precision=precision)
