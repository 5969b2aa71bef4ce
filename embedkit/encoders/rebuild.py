"""The encoder that made stored vectors, created again from their record and checked field by field."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedkit.encoders.names import RANDOM, split_checkpoint
from embedkit.errors import SchemaMismatchError, WeightsUnavailableError
from embedkit.records import VectorRecord

if TYPE_CHECKING:
    from embedkit.encoders.base import Encoder

log = logging.getLogger(__name__)


def encoder_from_record(
    record: VectorRecord,
    *,
    weights: str | Path | None = None,
    device: str = "auto",
    precision: str | None = None,
    **options: Any,
) -> Encoder:
    """Build the encoder `record` describes; raise SchemaMismatchError when what is built differs from it.

    A record of a checkpoint needs that file: where it was when the vectors were made, or `weights`. The
    precision is this machine's (`auto`) unless given: it is not part of the vectors' identity.
    """
    from embedkit.encoders import get_encoder
    from embedkit.encoders.ensemble.artifact import EnsembleArtifact
    from embedkit.encoders.ensemble.encoder import EnsembleEncoder
    from embedkit.encoders.image_module import ImageModuleEncoder

    precision = precision or "auto"
    if record.members:
        members = [encoder_from_record(member.record, device=device, precision=precision, **options)
                   for member in record.members]
        artifact = None
        if record.artifact is not None:
            artifact = EnsembleArtifact.load(_artifact_file(record))
        encoder: Encoder = EnsembleEncoder(members, [member.weight for member in record.members], artifact=artifact,
                                           name=record.encoder, device=device, precision=precision)
    else:
        name, checkpoint = split_checkpoint(record.encoder)
        folder = record.details.get("model_path")
        if record.details.get("found_by") == "local" and folder and Path(str(folder)).is_dir() and not checkpoint:
            name = f"{name.partition(':')[0]}:{folder}"  # a model loaded from a folder is named by its last part
        if checkpoint and weights is None:
            weights = _checkpoint_file(record)
        given = {key: value for key, value in (("layer", record.layer), ("image_size", record.image_size))
                 if value is not None}
        if weights is not None and record.weights == RANDOM:
            weights = None
        encoder = get_encoder(name, device=device, precision=precision, **given, **options,
                              **({} if weights is None else {"weights": weights}))
        if record.preprocessing is None and record.modality != "text":  # a text encoder has no image preprocessing
            log.warning("the vectors of %s were recorded without their preprocessing (embedkit 0.1.0): the encoder "
                        "is created from its name, weights and options alone", record.encoder)
        elif checkpoint and isinstance(encoder, ImageModuleEncoder):
            # a checkpoint's name does not say which weights' preprocessing it was loaded with; the record does
            encoder.use_preprocessing(record.preprocessing)
    built = encoder.record.replace(text_field=record.text_field)  # stored texts are embedded by the same encoder
    differing = record.differences(built)
    if differing:
        shown = ", ".join(f"{field} {getattr(record, field)!r} != {getattr(built, field)!r}"
                          if field not in ("members", "preprocessing") else field for field in differing)
        raise SchemaMismatchError(
            f"the vectors were made by {record.encoder}, but the encoder built from their record differs ({shown}); "
            f"pass the encoder (and --weights) they were made with"
        )
    return encoder


def _checkpoint_file(record: VectorRecord) -> str:
    if record.weights_file and Path(record.weights_file).is_file():
        return record.weights_file
    raise WeightsUnavailableError(
        f"the vectors were made by {record.encoder} from the checkpoint {record.weights_file or '(unrecorded)'}, "
        f"which is not there; pass --weights PATH with that checkpoint"
    )


def _artifact_file(record: VectorRecord) -> str:
    assert record.artifact is not None
    if record.artifact.file and Path(record.artifact.file).is_file():
        return record.artifact.file
    raise WeightsUnavailableError(
        f"the vectors were made by {record.encoder} with the {record.artifact.method} artifact "
        f"{record.artifact.file or '(unrecorded)'}, which is not there; build the encoder with that file "
        f"(e.g. stack:FILE.npz) and pass it"
    )
