"""Ensembles computed from member vectors already in a collection: no image is encoded again.

`build_from_store` writes `ensemble:a+b` (optionally `...-pcaK`) beside its members; `apply_artifact`
writes what a saved artifact (a stacker, a PCA) gives for the members it was trained on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedkit.encoders import vector_name_candidates
from embedkit.encoders.ensemble import EnsembleArtifact, Member, identity_sha256, parse_members, spec_name
from embedkit.encoders.ensemble.combination import check_members, combine, normalise_rows
from embedkit.encoders.names import find_stored
from embedkit._version import __version__
from embedkit.errors import EmbedkitError, InvalidOptionError, MemberVectorsMissingError, StoreBackendError
from embedkit.records import MemberRecord, VectorRecord
from embedkit.store import Store, using_store

if TYPE_CHECKING:
    from embedkit.encoders import Encoder

log = logging.getLogger(__name__)

PCA_FIT_LIMIT = 20_000


@dataclass
class EnsembleReport:
    collection: str
    vector_name: str
    members: list[str]
    """The members' stored vector names."""
    weights: list[float]
    dim: int
    written: int
    skipped: int
    """Points that lack a member's vector, so get no ensemble vector."""
    encoded_members: list[str] = field(default_factory=list)
    """Members that had no stored vectors and were encoded from `dataset` first."""
    artifact: str | None = None
    seconds: float = 0.0


@dataclass
class MemberVectors:
    """A member resolved to its stored vector name, with the record the store keeps for it."""

    vector_name: str
    weight: float
    stored: VectorRecord

    @property
    def record(self) -> MemberRecord:
        return MemberRecord(self.vector_name, self.weight, self.stored)


def stored_vector_names(store: Store, collection: str) -> list[str]:
    names = store.vector_names(collection)  # reads one collection's schema; counts nothing
    if names:
        return names
    raise InvalidOptionError(f"collection {collection!r} does not exist in {store.location}; "
                             f"`embedkit collections` lists what there is")


def find_member(name: str, stored: Sequence[str]) -> str | None:
    """The stored vector a member name means: the name in any spelling, or the registry's name of an alias."""
    return find_stored(vector_name_candidates(name), stored)


def resolve_members(
    store: Store,
    collection: str,
    members: str | Sequence[str | Member | Encoder],
    *,
    dataset: Any = None,
    split: str | None = None,
    limit: int | None = None,
    encoder_options: dict[str, Any] | None = None,
) -> tuple[list[MemberVectors], list[str]]:
    """Each member's stored vectors; a member without them is encoded from `dataset` when given."""
    wanted: list[tuple[Member, Encoder | None]] = []
    if isinstance(members, str):
        wanted = [(m, None) for m in parse_members(members)]
    else:
        for item in members:
            if isinstance(item, (str, Member)):
                wanted.append((item if isinstance(item, Member) else Member(item), None))
            else:  # an Encoder
                wanted.append((Member(item.vector_name), item))
        parse_members([m for m, _ in wanted])  # the same checks as a spec string
    stored = stored_vector_names(store, collection)
    resolved, encoded = [], []
    for member, encoder in wanted:
        name = find_member(member.name, stored)
        if name is None:
            name = _encode_missing(store, collection, member, encoder, stored, dataset, split, limit,
                                   encoder_options or {})
            encoded.append(name)
        resolved.append(MemberVectors(name, member.weight, stored_record(store, collection, name)))
    return resolved, encoded


def _encode_missing(store, collection, member, encoder, stored, dataset, split, limit, options) -> str:
    has = ", ".join(stored) or "none"
    if dataset is None:
        raise MemberVectorsMissingError(
            f"ensemble member {member.name!r} has no stored vectors in collection {collection!r} (it has: {has}); "
            f"ingest them first (`embedkit ingest DATASET -e {member.name} -c {collection}`), "
            f"or pass the dataset (--dataset) to encode them now"
        )
    try:
        from embedkit.encoders.ensemble.builders import build_member  # torch: only when a member must be encoded
        from embedkit.ingestion import ingest

        model = encoder or build_member(member.name, **options)
        log.info("member %s has no stored vectors in %s: encoding them", member.name, collection)
        report = ingest(dataset, model, split=split, limit=limit, collection=collection, store=store)
    except (MemberVectorsMissingError, StoreBackendError):  # a failing store is not a member that cannot be encoded
        raise
    except EmbedkitError as error:
        raise MemberVectorsMissingError(
            f"ensemble member {member.name!r} has no stored vectors in collection {collection!r} (it has: {has}) "
            f"and cannot be encoded: {error}"
        ) from error
    return report.vector_name


def stored_record(store: Store, collection: str, vector_name: str) -> VectorRecord:
    """The record of a member's stored vectors (a bare one for vectors that embedkit did not write)."""
    record = store.vector_record(collection, vector_name)
    if record is None:
        raise MemberVectorsMissingError(f"collection {collection!r} has no vector {vector_name!r}; ingest it first")
    return record


def iter_combined(
    store: Store, collection: str, members: Sequence[MemberVectors], batch_size: int = 1024
) -> Iterator[tuple[list[str], np.ndarray, list[dict[str, Any]]]]:
    """(sample ids, concatenated weighted normalised member vectors, payloads) of every point with all members."""
    names = [m.vector_name for m in members]
    for ids, arrays, payloads in store.iter_points(collection, names, batch_size=batch_size):
        yield ids, combine([arrays[n] for n in names], [m.weight for m in members]), payloads


def fit_pca(
    store: Store, collection: str, members: Sequence[MemberVectors], dim: int, fit_limit: int = PCA_FIT_LIMIT
) -> EnsembleArtifact:
    """PCA of the combined member vectors of the first `fit_limit` points (in scroll order)."""
    parts, count = [], 0
    for _, combined, _ in iter_combined(store, collection, members):
        parts.append(combined[: fit_limit - count])
        count += len(parts[-1])
        if count >= fit_limit:
            break
    if not parts:
        raise MemberVectorsMissingError(f"no point of collection {collection!r} has all of "
                                        f"{', '.join(m.vector_name for m in members)}; nothing to fit a PCA on")
    data = np.concatenate(parts)
    if not 1 <= dim <= min(data.shape):
        raise InvalidOptionError(f"PCA dim must be between 1 and {min(data.shape)} (points and dimensions), got {dim}")
    mean = data.mean(axis=0)
    _, _, components = np.linalg.svd(data - mean, full_matrices=False)
    provenance = provenance_record("pca", members, {"dim": dim, "fit_points": int(len(data)), "collection": collection})
    return EnsembleArtifact(mean.astype(np.float32), components[:dim].T.astype(np.float32), provenance)


def provenance_record(method: str, members: Sequence[MemberVectors], details: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "embedkit.ensemble-artifact",
        "method": method,
        "members": [m.record.to_json() for m in members],
        **details,
        "embedkit_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_vectors(
    store: Store,
    collection: str,
    members: Sequence[MemberVectors],
    vector_name: str,
    trained: EnsembleArtifact | None,
    batch_size: int = 1024,
) -> tuple[int, int]:
    """Store the ensemble vector (through `trained`, a PCA or a stacker, when given) of every point that has all
    members; (written, skipped)."""
    records = tuple(m.record for m in members)
    dim = trained.dim if trained is not None else sum(m.stored.dim for m in members)
    modalities = {m.stored.modality for m in members}
    record = VectorRecord(
        vector_name, dim, modalities.pop() if len(modalities) == 1 else "image", architecture="ensemble",
        weights="members", weights_sha256=identity_sha256(records, None if trained is None else trained.sha256),
        members=records, artifact=None if trained is None else trained.record,
    )
    store.ensure_vector(collection, vector_name, record)
    written = 0
    for ids, combined, _ in iter_combined(store, collection, members, batch_size):
        vectors = trained.apply(combined) if trained is not None else normalise_rows(combined)
        store.upsert(collection, vector_name, ids, vectors, [{} for _ in ids])
        written += len(ids)
    if written:
        store.optimize(collection)
    store.flush()
    most = max(store.count(collection, m.vector_name) for m in members)
    return written, most - written


def build_from_store(
    store: Store | str | os.PathLike[str] | None,
    collection: str,
    members: str | Sequence[str | Member | Encoder],
    *,
    pca_dim: int | None = None,
    pca_file: str | os.PathLike[str] | None = None,
    pca_fit_limit: int = PCA_FIT_LIMIT,
    dataset: Any = None,
    split: str | None = None,
    limit: int | None = None,
    batch_size: int = 1024,
    **encoder_options: Any,
) -> EnsembleReport:
    """Write `ensemble:MEMBERS` beside its members in `collection`, from their stored vectors.

    `members` is a spec (`"resnet50+densenet121*0.5"`), or a list of names, `Member`s or encoders.
    A member with no stored vectors is an error, unless `dataset` is given: it is then encoded
    (`ingest`, with `encoder_options`) first. With `pca_dim`, a PCA fitted on the combined vectors
    is saved to `pca_file` (.npz) and the vector is `ensemble:MEMBERS-pcaK`.
    """
    started = time.perf_counter()
    with using_store(store) as target:
        resolved, encoded = resolve_members(target, collection, members, dataset=dataset, split=split,
                                            limit=limit, encoder_options=encoder_options)
        spec = spec_name([m.vector_name for m in resolved], [m.weight for m in resolved])
        pca = None
        if pca_dim is not None:
            if pca_file is None:
                raise InvalidOptionError("a PCA ensemble needs pca_file= (--pca-file FILE.npz) to save the PCA in")
            pca = fit_pca(target, collection, resolved, pca_dim, pca_fit_limit)
            pca.save(pca_file)
        vector_name = f"ensemble:{spec}" + ("" if pca is None else f"-pca{pca.dim}")
        written, skipped = write_vectors(target, collection, resolved, vector_name, pca, batch_size)
        return EnsembleReport(collection, vector_name, [m.vector_name for m in resolved],
                              [m.weight for m in resolved], pca.dim if pca else
                              sum(m.stored.dim for m in resolved), written, skipped, encoded,
                              None if pca is None else str(pca.file), time.perf_counter() - started)


def apply_artifact(
    store: Store | str | os.PathLike[str] | None,
    collection: str,
    artifact: str | os.PathLike[str],
    *,
    vector_name: str | None = None,
    batch_size: int = 1024,
) -> EnsembleReport:
    """Write the vectors a saved artifact (a stacker: `stack:STEM`) gives for its members' stored vectors.

    Raises ArtifactMismatchError when the collection's member vectors are not those it was trained on.
    """
    started = time.perf_counter()
    loaded = EnsembleArtifact.load(artifact)
    with using_store(store) as target:
        stored = stored_vector_names(target, collection)
        members = []
        for member in loaded.members:
            name = find_stored([member.vector_name], stored)
            if name is None:
                raise MemberVectorsMissingError(
                    f"{artifact} needs member vectors {member.vector_name!r}, which collection {collection!r} lacks "
                    f"(it has: {', '.join(stored) or 'none'}); ingest them first "
                    f"(`embedkit ingest DATASET -e {member.record.encoder} -c {collection}`)"
                )
            members.append(MemberVectors(name, member.weight, stored_record(target, collection, name)))
        check_members(str(artifact), loaded.members, [m.record for m in members])
        if vector_name is None and loaded.kind == "pca":
            spec = spec_name([m.vector_name for m in members], [m.weight for m in members])
            vector_name = f"ensemble:{spec}-pca{loaded.dim}"
        vector_name = vector_name or f"stack:{Path(artifact).stem}"
        written, skipped = write_vectors(target, collection, members, vector_name, loaded, batch_size)
        return EnsembleReport(collection, vector_name, [m.vector_name for m in members],
                              [m.weight for m in members], loaded.dim, written, skipped, [], str(artifact),
                              time.perf_counter() - started)
