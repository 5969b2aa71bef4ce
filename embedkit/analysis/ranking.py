"""Stored points ranked by one measure, in the spirit of FiftyOne Brain: uniqueness (distances to the nearest
neighbours, through the store's index), representativeness (closeness to a k-means centre) and hardness (the
entropy of a classifier's out-of-fold probabilities). No image is encoded and no N x N matrix is built.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from dataclasses import field as default
from pathlib import Path
from typing import Any

import numpy as np

from embedkit.analysis.neighbours import stored_neighbours
from embedkit.analysis.out_of_fold import out_of_fold
from embedkit.analysis.output_fields import check_fields, write_fields
from embedkit.analysis.vectors import NO_LABEL, LabelledVectors, stored_vectors
from embedkit.errors import InvalidOptionError
from embedkit.progress import ProgressListener, tell
from embedkit.store import Store, using_store

log = logging.getLogger(__name__)

MEASURES = ("uniqueness", "representativeness", "hardness")
UNIQUENESS_K = 3
FIFTYONE_WEIGHTS = (0.6, 0.3, 0.1)
"""FiftyOne Brain's weights of the distances to the 1st, 2nd and 3rd nearest neighbours (k = 3)."""
DEFAULT_CLUSTERS = 20
SHOWN = 16
"""Points drawn at each end of the ranking unless told otherwise."""
PICTURED = 100
"""Points at each end whose payloads the report keeps for its grid."""
DEFINITIONS = {
    "uniqueness": "u = sum_i w_i d_i over the k nearest other points (d: euclidean distance of the unit vectors, "
                  "sqrt(2 - 2 cos); k = 3: w = 0.6, 0.3, 0.1 as FiftyOne Brain; other k: w = 1/k), divided by "
                  "the largest u",
    "representativeness": "r = 1 - d / max d, d: euclidean distance of the unit vector to the centre of its k-means "
                          "cluster",
    "hardness": "h = -sum_c p_c log p_c / log C, the entropy of the classifier's out-of-fold probabilities over "
                "C classes (0: certain, 1: uniform)",
}


@dataclass
class RankedPoint:
    sample_id: str
    score: float
    rank: int
    """1 for the highest score."""
    label_name: str | None = None
    split: str | None = None
    detail: dict[str, Any] = default(default_factory=dict)
    """What else the measure says of the point (its cluster; the predicted label and margin)."""


@dataclass(kw_only=True)
class RankReport:
    collection: str
    vector_name: str
    by: str
    definition: str
    params: dict[str, Any]
    split: str | None
    points: int
    ranked: list[RankedPoint]
    """Every point, the highest score first."""
    field: str | None = None
    """The payload field the scores went to (FIELD, and FIELD_rank indexed), None when not written."""
    written: int = 0
    notes: list[str] = default(default_factory=list)
    seconds: float = 0.0
    grid: str | None = None
    payloads: dict[str, dict[str, Any]] = default(default_factory=dict, repr=False)
    """The stored payloads of the points at both ends, for `save`."""

    def save(self, path: str | os.PathLike[str], *, count: int = SHOWN) -> Path:
        """A PNG of the `count` highest and `count` lowest ranked points."""
        from embedkit.drawing.ranked_grid import Cell, write_ranked_grid  # imports the datasets: only for pictures

        count = min(count, PICTURED)
        top = self.ranked[:count]
        bottom = self.ranked[max(count, len(self.ranked) - count):][::-1]

        def cells(points: list[RankedPoint]) -> list[Cell]:
            return [Cell(p.sample_id, self.payloads.get(p.sample_id, {"split": p.split}),
                         [f"#{p.rank} {self.by[:6]} {p.score:.3f}", str(p.label_name or ""), _detail(p)])
                    for p in points]

        title = f"{self.collection} / {self.vector_name}: {self.points:,} points ranked by {self.by}"
        sections = [(f"highest {self.by} (most {_adjective(self.by)})", cells(top)),
                    (f"lowest {self.by} (least {_adjective(self.by)}), the lowest first", cells(bottom))]
        self.grid = str(write_ranked_grid(title, sections, Path(path)))
        return Path(self.grid)

    def to_json(self, *, limit: int | None = None) -> dict[str, Any]:
        document = {key: value for key, value in asdict(self).items() if key not in ("ranked", "payloads")}
        document["ranked"] = [asdict(p) for p in self.ranked[:limit]]
        return document


def rank_points(
    store: Store | str | os.PathLike[str] | None,
    collection: str,
    *,
    by: str,
    vector: str | None = None,
    k: int | None = None,
    clusters: int = DEFAULT_CLUSTERS,
    method: str = "knn",
    split: str | None = None,
    write: bool = False,
    field: str | None = None,
    seed: int = 0,
    progress: ProgressListener | None = None,
) -> RankReport:
    """Rank the stored points of `collection` (of `split`; None: all) by `by`, from the stored vectors `vector`
    (None: the default one):

    - "uniqueness": the weighted distances to the `k` (default 3) nearest other points, asked of the store's index;
    - "representativeness": closeness to the centre of the point's cluster (k-means, `clusters` clusters, seeded);
    - "hardness": the entropy of `method`'s out-of-fold probabilities ("knn": `k` (default 10) neighbours through
      the index; "linear": 5-fold logistic regression); labelled points only.

    With `write`, payload `field` (default: the measure's name) gets the score and `field`_rank the rank (1: the
    highest score; indexed); nothing is written when the call is refused. `progress` hears how far each stage has come.
    """
    if by not in MEASURES:
        raise InvalidOptionError(f"unknown ranking {by!r}; rank by one of {', '.join(MEASURES)}")
    if k is not None and (isinstance(k, bool) or k < 1):
        raise InvalidOptionError(f"k must be a whole number of at least 1, got {k!r}")
    started = time.perf_counter()
    name = field or by
    with using_store(store) as target:
        vector_name = target.vector(collection, vector).name
        points = stored_vectors(target, collection, vector_name, split, require_labels=False, progress=progress)
        notes: list[str] = []
        if by == "hardness":
            labelled = np.flatnonzero(points.labels != NO_LABEL)
            if not len(labelled):
                raise InvalidOptionError(f"no point of {collection!r} has a label; hardness needs a classifier, and a "
                                         f"classifier needs the payload field 'label'")
            if len(labelled) < len(points.ids):
                notes.append(f"{len(points.ids) - len(labelled):,} points without a label were left out")
            points = points.subset(labelled)
        if write:
            check_fields(target, collection, {name: float, f"{name}_rank": int}, points.ids, by)
        if by == "uniqueness":
            scores, details, params = _uniqueness(target, collection, vector_name, points, k or UNIQUENESS_K, split,
                                                  progress)
        elif by == "representativeness":
            scores, details, params = _representativeness(points, clusters, seed, progress)
        else:
            found = out_of_fold(target, collection, vector_name, points, method=method, k=k or 10, split=split,
                                seed=seed, progress=progress)
            scores, details, params = _hardness(points, found.probabilities, found.classes)
            params = {"method": found.method, **found.params}
            notes += found.notes
        order = sorted(range(len(points.ids)), key=lambda n: (-scores[n], points.ids[n]))
        ranked = [RankedPoint(points.ids[n], float(scores[n]), rank,
                              points.label_name(points.labels[n]) if points.labels[n] != NO_LABEL else None,
                              points.splits[n] if points.splits else None, details[n])
                  for rank, n in enumerate(order, start=1)]
        ends = ranked[:PICTURED] + ranked[max(PICTURED, len(ranked) - PICTURED):]
        payloads = target.payloads(collection, [p.sample_id for p in ends])
        written = 0
        if write:
            command = f"embedkit rank -c {collection} -e {vector_name} --by {by} --write --field {name}" + \
                (f" --split {split}" if split is not None else "")
            written = write_fields(target, collection, {p.sample_id: {name: p.score, f"{name}_rank": p.rank}
                                                        for p in ranked}, f"{name}_rank", command)
    report = RankReport(collection=collection, vector_name=vector_name, by=by, definition=DEFINITIONS[by],
                        params=params, split=split, points=len(ranked), ranked=ranked,
                        field=name if write else None, written=written, notes=notes,
                        seconds=time.perf_counter() - started, payloads=payloads)
    log.info("ranked %d points of %s/%s by %s in %.1f s", report.points, collection, vector_name, by, report.seconds)
    return report


def uniqueness_from_distances(distances: np.ndarray) -> np.ndarray:
    """FiftyOne Brain's uniqueness from each point's distances to its k nearest other points, nearest first
    ((n, k)): weights 0.6, 0.3, 0.1 for k = 3 (the plain mean for another k), divided by the largest value."""
    k = distances.shape[1]
    weights = np.asarray(FIFTYONE_WEIGHTS if k == len(FIFTYONE_WEIGHTS) else [1.0 / k] * k)
    raw = distances @ weights
    top = raw.max() if len(raw) else 0.0
    return raw / top if top > 0 else np.zeros_like(raw)


def _uniqueness(store: Store, collection: str, vector_name: str, points: LabelledVectors, k: int, split: str | None,
                progress: ProgressListener | None) -> tuple[np.ndarray, list[dict[str, Any]], dict[str, Any]]:
    if k >= len(points.ids):
        raise InvalidOptionError(f"k={k} neighbours need more than {len(points.ids)} points; use --k "
                                 f"{max(1, len(points.ids) - 1)} or fewer")
    distances = np.zeros((len(points.ids), k), dtype=np.float64)
    nearest: list[dict[str, Any]] = []
    for n, hits in stored_neighbours(store, collection, vector_name, points, k, split, progress):
        others = hits[:k]
        cosines = np.asarray([min(1.0, hit.score) for hit in others], dtype=np.float64)
        row = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * cosines))
        distances[n, : len(row)] = row
        distances[n, len(row):] = row[-1] if len(row) else 2.0
        nearest.append({"nearest": others[0].sample_id if others else None,
                        "nearest_cosine": float(cosines[0]) if len(cosines) else None})
    weights = list(FIFTYONE_WEIGHTS) if k == len(FIFTYONE_WEIGHTS) else [round(1.0 / k, 6)] * k
    return uniqueness_from_distances(distances), nearest, {"k": k, "weights": weights,
                                                            "distance": "euclidean of unit vectors"}


def _representativeness(points: LabelledVectors, clusters: int, seed: int,
                        progress: ProgressListener | None) -> tuple[np.ndarray, list[dict[str, Any]], dict[str, Any]]:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    n = len(points.ids)
    if isinstance(clusters, bool) or not 1 <= clusters < n:
        raise InvalidOptionError(f"{clusters} clusters of {n} points: give --clusters from 1 to {max(1, n - 1)}"
                                 + (" (the collection is too small to rank)" if n < 3 else ""))
    tell(progress, "k-means", 0, 1, "fits")
    # k-means++ from several starts (one start's clusters move with the seed); mini-batches above 20,000 points
    if n > 20_000:
        clusterer: Any = MiniBatchKMeans(n_clusters=clusters, n_init=3, batch_size=4096, random_state=seed)
    else:
        clusterer = KMeans(n_clusters=clusters, n_init=3, random_state=seed)
    assigned = clusterer.fit_predict(points.vectors)
    centres = clusterer.cluster_centers_.astype(np.float32)
    distances = np.linalg.norm(points.vectors - centres[assigned], axis=1).astype(np.float64)
    top = distances.max()
    scores = 1.0 - distances / top if top > 0 else np.ones(n)
    tell(progress, "k-means", 1, 1, "fits")
    return scores, [{"cluster": int(c), "distance": float(d)} for c, d in zip(assigned, distances)], {
        "clusters": clusters, "kmeans": type(clusterer).__name__, "n_init": 3, "seed": seed}


def _hardness(points: LabelledVectors, probabilities: np.ndarray,
              classes: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]], dict[str, Any]]:
    p = np.clip(probabilities, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1) / np.log(len(classes))
    ordered = np.sort(p, axis=1)
    margins = ordered[:, -1] - ordered[:, -2]
    predicted = classes[np.argmax(p, axis=1)]
    details = [{"predicted": points.label_name(label), "margin": float(margin)}
               for label, margin in zip(predicted, margins)]
    return np.clip(entropy, 0.0, 1.0), details, {}


def _detail(point: RankedPoint) -> str:
    if "predicted" in point.detail:
        return f"pred {point.detail['predicted']}"
    if "cluster" in point.detail:
        return f"cluster {point.detail['cluster']}"
    if point.detail.get("nearest_cosine") is not None:
        return f"nearest cos {point.detail['nearest_cosine']:.3f}"
    return ""


def _adjective(by: str) -> str:
    return {"uniqueness": "unique", "representativeness": "representative", "hardness": "hard"}[by]
