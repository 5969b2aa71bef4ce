"""Out-of-fold predicted probabilities of a classifier on stored vectors: for each point, what a classifier that never
saw it predicts. `mistakes` and `rank --by hardness` read them.

kNN asks the store's index for each point's neighbours (leave-one-out: the point itself is left out), so no N x N
matrix is built; the linear probe is cross-validated in stratified folds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedkit.analysis.classifiers import fit
from embedkit.analysis.neighbours import stored_neighbours
from embedkit.analysis.vectors import LabelledVectors
from embedkit.errors import InvalidOptionError
from embedkit.progress import ProgressListener, tell
from embedkit.store import Store

METHODS = ("knn", "linear")
ZERO_DISTANCE = 1e-6
"""A neighbour's weight is 1 / its cosine distance, the distance at least this (an exact copy)."""



@dataclass
class OutOfFold:
    probabilities: np.ndarray
    """(n, classes): row i is the classifier's probability of each class for point i, from a fit without it."""
    classes: np.ndarray
    """The label of each column, ascending."""
    method: str
    params: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def predicted(self) -> np.ndarray:
        """Each point's predicted label: the column of highest probability."""
        return self.classes[np.argmax(self.probabilities, axis=1)]

    def given_probability(self, labels: np.ndarray) -> np.ndarray:
        """Each point's probability of its own label (cleanlab's self-confidence)."""
        columns = np.searchsorted(self.classes, labels)
        return self.probabilities[np.arange(len(labels)), columns]


def out_of_fold(store: Store, collection: str, vector_name: str, points: LabelledVectors, *, method: str = "knn",
                k: int = 10, folds: int = 5, split: str | None = None, seed: int = 0,
                progress: ProgressListener | None = None) -> OutOfFold:
    """Out-of-fold probabilities for every point of `points` (all labelled): `method` "knn" (the `k` nearest other
    points of `split` through the store's index, weighted by 1 / cosine distance) or "linear" (logistic regression,
    `folds` stratified folds)."""
    classes, counts = np.unique(points.labels, return_counts=True)
    if len(classes) < 2:
        raise InvalidOptionError(f"the labelled points of {collection!r} have a single class; a classifier needs "
                                 f"at least two")
    if method == "knn":
        if k >= len(points.ids):
            raise InvalidOptionError(f"k={k} neighbours need more than {len(points.ids)} points; use --k "
                                     f"{max(1, len(points.ids) - 1)} or fewer")
        return _neighbour_votes(store, collection, vector_name, points, classes, k, split, progress)
    if method == "linear":
        if folds < 2 or folds > counts.min():
            raise InvalidOptionError(f"{folds} folds need {folds} points of each class, and the smallest class has "
                                     f"{counts.min()}; use --folds from 2 to {max(2, counts.min())}"
                                     + (" (or label more points)" if counts.min() < 2 else ""))
        return _cross_validated(points, classes, folds, seed, progress)
    raise InvalidOptionError(f"unknown classifier {method!r}; use one of {', '.join(METHODS)}")


def _neighbour_votes(store: Store, collection: str, vector_name: str, points: LabelledVectors, classes: np.ndarray,
                     k: int, split: str | None, progress: ProgressListener | None) -> OutOfFold:
    position = {sample_id: n for n, sample_id in enumerate(points.ids)}
    column = {int(label): n for n, label in enumerate(classes)}
    votes = np.zeros((len(points.ids), len(classes)), dtype=np.float64)
    short = 0
    for n, others in stored_neighbours(store, collection, vector_name, points, k, split, progress):
        kept = [(position[h.sample_id], h.score) for h in others if h.sample_id in position][:k]
        short += len(kept) < k
        distances = np.maximum(1.0 - np.asarray([score for _, score in kept], dtype=np.float64), ZERO_DISTANCE)
        for (other, _), distance in zip(kept, distances):
            votes[n, column[int(points.labels[other])]] += 1.0 / distance
    sums = votes.sum(axis=1, keepdims=True)
    empty = sums[:, 0] == 0
    votes[empty] = 1.0 / len(classes)  # no labelled neighbour: no opinion
    sums[empty] = 1.0
    notes = [f"{short:,} points had fewer than {k} labelled neighbours (unlabelled points, or points outside the "
             f"split, are not counted)"] if short else []
    return OutOfFold(votes / sums, classes, "knn", {"k": k, "weights": "1 / cosine distance", "protocol":
                                                   "leave-one-out through the store's index"}, notes)


def _cross_validated(points: LabelledVectors, classes: np.ndarray, folds: int, seed: int,
                     progress: ProgressListener | None) -> OutOfFold:
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros((len(points.ids), len(classes)), dtype=np.float64)
    notes: set[str] = set()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    params: dict[str, Any] = {}
    for number, (train, test) in enumerate(splitter.split(points.vectors, points.labels), start=1):
        fitted = fit("linear", points.vectors[train], points.labels[train], 0, seed)
        params, learnt = fitted.params, np.asarray(fitted.estimator.classes_)
        probabilities[np.ix_(test, np.searchsorted(classes, learnt))] = fitted.estimator.predict_proba(
            points.vectors[test])
        notes.update(fitted.notes)
        tell(progress, "folds", number, folds, "folds")
    return OutOfFold(probabilities, classes, "linear", {**params, "folds": folds, "protocol": "stratified k-fold"},
                     sorted(notes))
