"""Stacking: a meta-model trained on a labelled split over members' stored vectors, saved with its provenance.

The meta-model is a linear map over the concatenated, L2-normalised member vectors: `lda` (linear
discriminant analysis with shrinkage, scikit-learn) or `linear` (a projection trained in torch with
a cosine softmax classification loss). It is saved as a `EnsembleArtifact` (.npz + .json), is loaded as the
encoder `stack:FILE.npz`, and `embedkit.analysis.ensembles.apply_artifact` applies it to stored vectors.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
import numpy as np
import torch

from embedkit.encoders import Encoder
from embedkit.encoders.ensemble import EnsembleArtifact, Member
from embedkit.analysis.ensembles import (
    EnsembleReport,
    MemberVectors,
    apply_artifact,
    iter_combined,
    provenance_record,
    resolve_members,
)
from embedkit.errors import InvalidOptionError, UnlabelledDataError
from embedkit.store import Store, using_store

log = logging.getLogger(__name__)

METHODS = ("lda", "linear")


@dataclass
class TrainingData:
    ids: list[str]
    features: np.ndarray
    """Concatenated weighted L2-normalised member vectors, (n, sum of member dims)."""
    labels: np.ndarray
    label_names: dict[int, str]
    datasets: list[str]

    def content_sha256(self) -> str:
        """What the stacker was trained on: the sample ids and labels, in id order."""
        digest = hashlib.sha256()
        for sample_id, label in sorted(zip(self.ids, self.labels.tolist())):
            digest.update(f"{sample_id}\t{label}\n".encode())
        return digest.hexdigest()


@dataclass
class StackingReport:
    artifact: Path
    method: str
    members: list[str]
    train_points: int
    classes: int
    dim: int
    seconds: float
    applied: EnsembleReport | None = None
    """The stacked vectors written to the collection, when asked for."""


def training_data(
    store: Store, collection: str, members: Sequence[MemberVectors], split: str | None, limit: int | None = None
) -> TrainingData:
    ids: list[str] = []
    parts, labels, names, datasets, unlabelled = [], [], {}, set(), 0
    for batch_ids, combined, payloads in iter_combined(store, collection, members):
        keep = [i for i, p in enumerate(payloads) if split is None or p.get("split") == split]
        for i in keep:
            label = payloads[i].get("label")
            if label is None:
                unlabelled += 1
                continue
            ids.append(batch_ids[i])
            labels.append(int(label))
            names.setdefault(int(label), str(payloads[i].get("label_name") or label))
            datasets.add(str(payloads[i].get("dataset")))
        parts.append(combined[[i for i in keep if payloads[i].get("label") is not None]])
        if limit is not None and len(ids) >= limit:
            break
    where = f"collection {collection!r}" + (f", split {split!r}," if split else "")
    if unlabelled:
        raise UnlabelledDataError(
            f"stacking learns from labels, but {unlabelled} point(s) of {where} with vectors "
            f"{', '.join(m.vector_name for m in members)} have no label; train on a labelled split "
            f"(--split train) or ingest a labelled dataset"
        )
    if not ids:
        raise UnlabelledDataError(
            f"{where} has no labelled point with all of {', '.join(m.vector_name for m in members)}; "
            f"check --split (the payload field 'split') and ingest every member first"
        )
    features = np.concatenate(parts)[: limit or None]
    labels_array = np.asarray(labels[: limit or None])
    if len(set(labels_array.tolist())) < 2:
        raise UnlabelledDataError(f"{where} has a single class; stacking needs at least two labelled classes")
    return TrainingData(ids[: limit or None], features, labels_array, names, sorted(datasets))


def fit_lda(features: np.ndarray, labels: np.ndarray, dim: int | None) -> tuple[np.ndarray, np.ndarray, dict]:
    try:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    except ImportError as error:
        raise InvalidOptionError("method 'lda' needs scikit-learn (pip install scikit-learn); "
                                 "or use method 'linear'") from error
    classes = len(np.unique(labels))
    dim = dim or classes - 1
    if not 1 <= dim <= min(classes - 1, features.shape[1]):
        raise InvalidOptionError(f"LDA gives at most {classes - 1} dimensions for {classes} classes, got dim={dim}")
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(features, labels)
    import sklearn

    mean = features.mean(axis=0)
    return mean, lda.scalings_[:, :dim], {"dim": dim, "solver": "eigen", "shrinkage": "auto",
                                          "library": f"scikit-learn {sklearn.__version__}"}


def fit_linear(
    features: np.ndarray, labels: np.ndarray, dim: int | None, seed: int, epochs: int = 300, scale: float = 16.0
) -> tuple[np.ndarray, np.ndarray, dict]:
    """A projection W trained with a cosine softmax loss: normalise(x W) against learned class directions."""
    dim = dim or 128
    classes = np.unique(labels)
    index = {c: i for i, c in enumerate(classes.tolist())}
    mean = features.mean(axis=0)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        x = torch.from_numpy(features - mean).float()
        y = torch.tensor([index[c] for c in labels.tolist()])
        projection = torch.nn.Linear(x.shape[1], dim, bias=False)
        centres = torch.nn.Parameter(torch.randn(len(classes), dim))
        optimiser = torch.optim.Adam([*projection.parameters(), centres], lr=1e-2, weight_decay=1e-4)
        for _ in range(epochs):
            optimiser.zero_grad()
            z = torch.nn.functional.normalize(projection(x), dim=1)
            logits = scale * z @ torch.nn.functional.normalize(centres, dim=1).T
            loss = torch.nn.functional.cross_entropy(logits, y)
            loss.backward()
            optimiser.step()
    matrix = projection.weight.detach().T.numpy()
    return mean, matrix, {"dim": dim, "epochs": epochs, "optimiser": "adam lr 0.01 wd 1e-4",
                          "loss": f"cosine softmax, scale {scale}", "final_loss": float(loss.detach()),
                          "library": f"torch {torch.__version__}"}


def train_stacker(
    store: Store | str | os.PathLike[str] | None,
    collection: str,
    members: str | Sequence[str | Member | Encoder],
    artifact: str | os.PathLike[str],
    *,
    split: str | None = "train",
    method: str = "lda",
    dim: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    apply: bool = True,
) -> StackingReport:
    """Train a stacker on the labelled `split` of `collection` from its members' stored vectors.

    Saves it to `artifact` (.npz, with a .json copy of its provenance). With `apply`, also writes
    `stack:STEM` vectors for every point that has all members (train and test alike).
    """
    if method not in METHODS:
        raise InvalidOptionError(f"unknown stacking method {method!r}; use one of {', '.join(METHODS)}")
    started = time.perf_counter()
    with using_store(store) as target:
        resolved, _ = resolve_members(target, collection, members)
        data = training_data(target, collection, resolved, split, limit)
        if method == "lda":
            mean, matrix, params = fit_lda(data.features, data.labels, dim)
        else:
            mean, matrix, params = fit_linear(data.features, data.labels, dim, seed)
        provenance = provenance_record(method, resolved, {
            "params": params,
            "seed": seed,
            "training": {"collection": collection, "datasets": data.datasets, "split": split,
                         "count": len(data.ids), "classes": {str(k): v for k, v in sorted(data.label_names.items())},
                         "content_sha256": data.content_sha256()},
        })
        stacker = EnsembleArtifact(mean.astype(np.float32), np.asarray(matrix, dtype=np.float32), provenance)
        path = stacker.save(artifact)
        applied = apply_artifact(target, collection, path) if apply else None
        log.info("stacker %s trained on %d points in %.1f s", path, len(data.ids), time.perf_counter() - started)
        return StackingReport(path, method, [m.vector_name for m in resolved], len(data.ids),
                              len(data.label_names), stacker.dim, time.perf_counter() - started, applied)


def load_stacker(artifact: str | os.PathLike[str]) -> EnsembleArtifact:
    """The saved stacker: `.apply(combine(member_vectors, weights))` transforms member vectors."""
    return EnsembleArtifact.load(artifact)

