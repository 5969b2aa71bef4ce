"""Probable label mistakes among stored points: each point's probability that its label is wrong, from out-of-fold
predictions of a classifier on the stored vectors, and the points confident learning flags (cleanlab's
`find_label_issues`, with the per-class thresholds it computes). No image is encoded.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import asdict, dataclass
from dataclasses import field as default
from pathlib import Path
from typing import Any

import numpy as np

from embedkit.analysis.out_of_fold import OutOfFold, out_of_fold
from embedkit.analysis.output_fields import check_fields, write_fields
from embedkit.analysis.vectors import NO_LABEL, stored_vectors
from embedkit.errors import InvalidOptionError
from embedkit.progress import ProgressListener
from embedkit.store import Store, using_store

log = logging.getLogger(__name__)

DEFAULT_FIELD = "label_issue"
SHOWN = 24
"""Suspects drawn in the grid unless told otherwise."""
PICTURED = 200
"""Suspects whose payloads the report keeps for its grid: at most this many can be drawn."""


@dataclass
class Suspect:
    sample_id: str
    label: int
    label_name: str
    predicted: int
    predicted_name: str
    score: float
    """The probability that the given label is wrong: 1 - the out-of-fold probability of the given label."""
    issue: bool
    """Whether confident learning flags the label (cleanlab's find_label_issues, pruned by noise rate)."""
    split: str | None = None
    source: str = ""


@dataclass(kw_only=True)
class MistakesReport:
    collection: str
    vector_name: str
    method: str
    params: dict[str, Any]
    split: str | None
    points: int
    """Labelled points examined."""
    unlabelled: int
    """Points left out because they have no label."""
    accuracy: float
    """Out-of-fold accuracy of the classifier against the given labels."""
    issues: int
    """Points confident learning flags."""
    thresholds: dict[str, float]
    """Confident learning's per-class thresholds: the mean out-of-fold probability of class j over the points
    labelled j (cleanlab.count.get_confident_thresholds)."""
    suspects: list[Suspect]
    """Every labelled point, the most probably wrong first (ties: the highest probability of another label first,
    then flagged first, then by sample id)."""
    field: str | None = None
    """The payload field the flags went to (FIELD, and FIELD_score), None when not written."""
    written: int = 0
    notes: list[str] = default(default_factory=list)
    seconds: float = 0.0
    grid: str | None = None
    payloads: dict[str, dict[str, Any]] = default(default_factory=dict, repr=False)
    """The stored payloads of the first suspects (where their images are found again), for `save`."""

    def save(self, path: str | os.PathLike[str], *, count: int = SHOWN) -> Path:
        """A PNG of the `count` most suspect points with their given and predicted labels."""
        from embedkit.drawing.ranked_grid import Cell, write_ranked_grid  # imports the datasets: only for pictures

        shown = self.suspects[:min(count, PICTURED)]
        cells = [Cell(s.sample_id, self.payloads.get(s.sample_id, {"source": s.source, "split": s.split}),
                      [f"{rank}. wrong {s.score:.2f}" + (" (flag)" if s.issue else ""), f"given: {s.label_name}",
                       f"predicted: {s.predicted_name}"]) for rank, s in enumerate(shown, start=1)]
        title = (f"{self.collection} / {self.vector_name}: the {len(shown)} labels most probably wrong "
                 f"({self.method}, out-of-fold; {self.issues:,} of {self.points:,} flagged)")
        self.grid = str(write_ranked_grid(title, [("most probably mislabelled first", cells)], Path(path)))
        return Path(self.grid)

    def to_json(self, *, limit: int | None = None) -> dict[str, Any]:
        """The report; `limit` keeps the first suspects only."""
        document = {key: value for key, value in asdict(self).items() if key not in ("suspects", "payloads")}
        document["suspects"] = [asdict(s) for s in self.suspects[:limit]]
        return document


def find_mistakes(
    store: Store | str | os.PathLike[str] | None,
    collection: str,
    *,
    vector: str | None = None,
    method: str = "knn",
    k: int = 10,
    folds: int = 5,
    split: str | None = None,
    write: bool = False,
    field: str = DEFAULT_FIELD,
    seed: int = 0,
    progress: ProgressListener | None = None,
) -> MistakesReport:
    """Rank the labelled points of `collection` (of `split`; None: all) by the probability that their label is
    wrong, from out-of-fold probabilities of `method` ("knn": `k` neighbours through the store's index, leaving the
    point out; "linear": logistic regression in `folds` stratified folds) on the stored vectors `vector` (None: the
    default one), and flag the labels confident learning finds (cleanlab).

    With `write`, payload `field` gets 1 for a flagged point and 0 for the others (indexed), and `field`_score the
    probability; nothing is written when the call is refused. `progress` hears how far each stage has come.
    """
    started = time.perf_counter()
    require_cleanlab()
    with using_store(store) as target:
        vector_name = target.vector(collection, vector).name
        points = stored_vectors(target, collection, vector_name, split, require_labels=False, progress=progress)
        labelled = np.flatnonzero(points.labels != NO_LABEL)
        if not len(labelled):
            raise InvalidOptionError(f"no point of {collection!r}" + (f" split {split!r}" if split else "")
                                     + " has a label; label mistakes need the payload field 'label'")
        unlabelled = len(points.ids) - len(labelled)
        points = points.subset(labelled)
        fields = {field: int, f"{field}_score": float}
        if write:
            check_fields(target, collection, fields, points.ids, "label issues")
        found = out_of_fold(target, collection, vector_name, points, method=method, k=k, folds=folds, split=split,
                            seed=seed, progress=progress)
        flags, thresholds = confident_learning(points.labels, found)
        given = found.given_probability(points.labels)
        predicted = found.predicted()
        scores = np.clip(1.0 - given, 0.0, 1.0)
        rival = found.probabilities.copy()
        rival[np.arange(len(rival)), np.searchsorted(found.classes, points.labels)] = 0.0
        rival_best = rival.max(axis=1)  # among equal scores, the surer of another label first (kNN ties at 1.0)
        order = sorted(range(len(points.ids)), key=lambda n: (-scores[n], -rival_best[n], not flags[n],
                                                              points.ids[n]))
        suspects = [Suspect(points.ids[n], int(points.labels[n]), points.label_name(points.labels[n]),
                            int(predicted[n]), points.label_name(predicted[n]), float(scores[n]), bool(flags[n]),
                            points.splits[n] if points.splits else None, points.sources[n] if points.sources else "")
                    for n in order]
        payloads = target.payloads(collection, [s.sample_id for s in suspects[:PICTURED]])
        written = 0
        if write:
            command = f"embedkit mistakes -c {collection} -e {vector_name} --method {found.method} --write " \
                f"--field {field}" + (f" --split {split}" if split is not None else "")
            written = write_fields(target, collection, {s.sample_id: {field: int(s.issue), f"{field}_score": s.score}
                                                        for s in suspects}, field, command)
    notes = list(found.notes)
    if unlabelled:
        notes.append(f"{unlabelled:,} points without a label were left out")
    report = MistakesReport(
        collection=collection, vector_name=vector_name, method=found.method, params=found.params, split=split,
        points=len(points.ids), unlabelled=unlabelled, accuracy=float(np.mean(predicted == points.labels)),
        issues=int(flags.sum()), thresholds={points.label_name(label): float(t)
                                             for label, t in zip(found.classes, thresholds)},
        suspects=suspects, field=field if write else None, written=written, notes=notes,
        seconds=time.perf_counter() - started, payloads=payloads)
    log.info("label mistakes of %s/%s: %d flagged of %d in %.1f s", collection, vector_name, report.issues,
             report.points, report.seconds)
    return report


def confident_learning(labels: np.ndarray, found: OutOfFold) -> tuple[np.ndarray, np.ndarray]:
    """The points cleanlab's `find_label_issues` flags (pruned by noise rate, its default), and its per-class
    confident thresholds, from the out-of-fold probabilities `found` of points labelled `labels`."""
    require_cleanlab()
    from cleanlab.count import get_confident_thresholds
    from cleanlab.filter import find_label_issues

    columns = np.searchsorted(found.classes, labels)  # cleanlab wants labels 0 .. K-1
    probabilities = np.clip(found.probabilities, 0.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        thresholds = get_confident_thresholds(columns, probabilities, multi_label=False)
        flags = find_label_issues(columns, probabilities, filter_by="prune_by_noise_rate", n_jobs=1)
    return np.asarray(flags, dtype=bool), np.asarray(thresholds, dtype=np.float64)


def require_cleanlab() -> None:
    """Refuse in one line, before any work, when cleanlab cannot be imported."""
    try:
        import cleanlab.count  # noqa: F401
        import cleanlab.filter  # noqa: F401
    except ImportError as error:
        raise InvalidOptionError("label mistakes need cleanlab: pip install 'embedkit[analysis]' "
                                 "(or pip install cleanlab)") from error
