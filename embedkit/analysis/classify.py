"""Classifiers learnt from a collection's stored vectors and labels: scored on a test split, by cross-validation or
k-shot (MIEB's protocol), saved with their provenance, and used to label new images or the stored points.

No image is encoded again, except the new images that `predict_images` labels.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from embedkit._version import __version__
from embedkit.analysis.classifiers import ClassScores, Method, Run, class_scores, fit, fit_and_score
from embedkit.analysis.trained_classifier import (LabelsWritten, Prediction, TrainedClassifier, check_classifier_file,
                                                  load_classifier, predict_images, write_labels)
from embedkit.analysis.vectors import NO_LABEL, LabelledVectors, stored_vectors
from embedkit.errors import InvalidOptionError
from embedkit.records import VectorRecord
from embedkit.store import Store, using_store

log = logging.getLogger(__name__)

__all__ = ["ClassifyReport", "ClassScores", "LabelsWritten", "Prediction", "TrainedClassifier", "classify",
           "content_sha256", "load_classifier", "predict_images", "sample_shots", "write_labels"]


@dataclass(kw_only=True)
class ClassifyReport:
    collection: str
    vector_name: str
    method: str
    params: dict[str, Any]
    protocol: str
    """"split" (train on one split, test on another), "cv" (cross-validation) or "k-shot"."""
    train_split: str | None
    test_split: str | None
    train_count: int
    """Points one fit learns from (shots x classes for k-shot; the smallest fold's for cv)."""
    test_count: int
    """Points scored (each point once for cv)."""
    accuracy: float
    macro_f1: float
    train_accuracy: float
    """Accuracy on the training points themselves (at most 10,000 of them, drawn with the seed; knn with distance
    weights gets 1.0 by construction)."""
    accuracy_std: float | None = None
    """Over seeds (k-shot) or folds (cv)."""
    macro_f1_std: float | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    """Each seed's (k-shot) or fold's (cv) figures."""
    per_class: list[ClassScores] = field(default_factory=list)
    confusion_labels: list[str] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)
    """Rows: true label, columns: predicted, in the order of `confusion_labels` (summed over k-shot seeds)."""
    notes: list[str] = field(default_factory=list)
    confusion_png: str | None = None
    """The files `save` wrote: the confusion matrix, the report, the classifier."""
    report_json: str | None = None
    saved: str | None = None
    seconds: float = 0.0
    classifier: TrainedClassifier | None = field(default=None, repr=False)
    """The fitted classifier (k-shot: the first seed's; cv: refit on every point)."""

    def save(self, folder: str | os.PathLike[str], *,
             classifier: str | os.PathLike[str] | None = None) -> list[Path]:
        """Write the confusion matrix (PNG) into `folder`, the fitted classifier to `classifier` (FILE.skops, with
        its provenance in FILE.json) when given, and last the report (JSON, in `folder`), which names them all;
        returns the files written."""
        if classifier is not None:
            if self.classifier is None:
                raise InvalidOptionError("this report holds no fitted classifier to save; leave out classifier=")
            check_classifier_file(classifier)  # before anything is written
        picture = _write_picture(self, Path(folder))
        if classifier is not None and self.classifier is not None:
            self.saved = str(self.classifier.save(classifier))
        document = Path(str(self.report_json))
        document.write_text(json.dumps(self.to_json(), indent=2, default=str))
        return [picture, *([Path(self.saved)] if classifier is not None and self.saved else []), document]

    def to_json(self) -> dict[str, Any]:
        """Every field but the classifier, as JSON holds it."""
        document = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "classifier"}
        return {**document, "per_class": [asdict(row) for row in self.per_class]}


def classify(
    store: Store | str | os.PathLike[str] | None,
    collection: str,
    *,
    vector: str | None = None,
    method: str | Any = "knn",
    k: int = 10,
    shots: int | None = None,
    seeds: int = 5,
    seed: int = 0,
    train_split: str | None = "train",
    test_split: str | None = "test",
    cv: int | None = None,
) -> ClassifyReport:
    """Train a classifier on the stored vectors of `collection` (`vector`: a vector or encoder name; None: the
    collection's default vector) and score it. No image is encoded.

    `method` is "knn" (`k` neighbours, cosine, distance-weighted), "linear" (logistic regression), "svm" (RBF
    kernel, approximated above SVM_EXACT_LIMIT training points) or "forest" (a random forest), or any
    scikit-learn estimator. It trains on `train_split` and is scored on `test_split`; with `cv` it is
    cross-validated in `cv` stratified folds over the points of `train_split` (None: every point) and
    `test_split` is not used. With `shots`, each of `seeds` runs trains on `shots` examples of each class,
    sampled with its own seed (seed, seed + 1, ...), and the report gives the mean and standard deviation over
    the runs. `store` is a Store, or where one is (None: the default store). `report.save(folder)` writes the
    confusion matrix and the report, and the fitted classifier where asked.
    """
    started = time.perf_counter()
    _check_counts(k=k, shots=shots, seeds=seeds, cv=cv)
    if cv is not None and shots is not None:
        raise InvalidOptionError("k-shot samples the training split and cv folds it: use shots or cv, not both")
    if cv is None and (test_split is None or test_split == train_split):
        raise InvalidOptionError(f"testing on {'every point' if test_split is None else f'split {test_split!r}'} "
                                 f"would score points the classifier learnt from; name another test split, or "
                                 f"cross-validate one split (--cv 5)")
    with using_store(store) as target:
        chosen = target.vector(collection, vector)
        vector_name, record = chosen.name, chosen.record
        if record is None:
            raise InvalidOptionError(f"vector {vector_name!r} of collection {collection!r} has no record of what "
                                     f"made it; classify vectors that embedkit stored")
        points = stored_vectors(target, collection, vector_name, None, require_labels=False)
    where = f"{collection!r}/{vector_name!r}"
    notes: list[str] = []
    train = _labelled(_split_points(points, train_split, "train", where), train_split, where, notes)
    test = None if cv is not None else _labelled(_split_points(points, test_split, "test", where), test_split,
                                                  where, notes)
    classes = sorted(set(train.labels.tolist()))
    fit_size = _check_training(train, classes, method, k, shots, cv, where)
    if test is not None:
        unseen = sorted(set(test.labels.tolist()) - set(classes))
        if unseen:
            notes.append(f"{int(np.isin(test.labels, unseen).sum())} test points have labels that no training point "
                         f"has ({', '.join(test.label_name(u) for u in unseen[:5])}): they are always wrong")

    if cv is not None:
        runs, predicted, kept, cv_notes = _cross_validate(method, train, cv, k, seed)
        protocol, truth, trained_on, notes = "cv", train.labels, train, notes + cv_notes
    elif shots is not None:
        assert test is not None
        runs, trained_on = _k_shot(method, train, test, shots, seeds, k, seed)
        protocol, kept = "k-shot", runs[0].fitted
        truth, predicted = np.tile(test.labels, seeds), np.concatenate([run.predicted for run in runs])
    else:
        assert test is not None
        runs = [fit_and_score(method, train, test, k, seed)]
        protocol, kept, trained_on, truth, predicted = "split", runs[0].fitted, train, test.labels, runs[0].predicted
    notes += sorted({note for run in runs for note in run.fitted.notes})

    from sklearn.metrics import confusion_matrix

    labels = sorted(set(classes) | set(truth.tolist()))
    names = {**train.label_names, **(test.label_names if test is not None else {})}
    accuracies, f1s = [run.accuracy for run in runs], [run.macro_f1 for run in runs]
    several = len(runs) > 1
    report = ClassifyReport(
        collection=collection, vector_name=vector_name, method=kept.name, params=kept.params, protocol=protocol,
        train_split=train_split, test_split=None if cv else test_split, train_count=fit_size,
        test_count=len(train.ids) if cv else len(test.ids) if test is not None else 0,
        accuracy=float(np.mean(accuracies)), macro_f1=float(np.mean(f1s)),
        train_accuracy=float(np.mean([run.train_accuracy for run in runs])),
        accuracy_std=float(np.std(accuracies)) if several else None,
        macro_f1_std=float(np.std(f1s)) if several else None, runs=_run_rows(runs, protocol, seed) if several else [],
        per_class=class_scores(truth, predicted, labels, names),
        confusion_labels=[names.get(label, str(label)) for label in labels],
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(), notes=notes,
    )
    report.classifier = TrainedClassifier(kept.estimator, vector_name, record, names, _provenance(
        report, record, kept, trained_on, classes, names, seed=seed, shots=shots, folds=cv))
    report.seconds = time.perf_counter() - started
    log.info("%s classifier on %s: accuracy %.4f in %.1f s", kept.name, where, report.accuracy, report.seconds)
    return report


def content_sha256(ids: Sequence[str], labels: np.ndarray) -> str:
    """What a classifier was trained on: the sample ids and labels, in id order (as stacking records it)."""
    digest = hashlib.sha256()
    for sample_id, label in sorted(zip(ids, labels.tolist())):
        digest.update(f"{sample_id}\t{label}\n".encode())
    return digest.hexdigest()


def sample_shots(labels: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Positions of `shots` points of each label, drawn at random with `seed` (in position order)."""
    order = np.random.default_rng(seed).permutation(len(labels))
    picked = [order[labels[order] == label][:shots] for label in np.unique(labels)]
    return np.sort(np.concatenate(picked))


def _check_counts(**counts: int | None) -> None:
    lowest = {"k": 1, "shots": 1, "seeds": 1, "cv": 2}
    for name, value in counts.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                  or value < lowest[name]):
            raise InvalidOptionError(f"{name} must be a whole number of at least {lowest[name]}, got {value!r}")


def _check_training(train: LabelledVectors, classes: list[int], method: str | Any, k: int, shots: int | None,
                    cv: int | None, where: str) -> int:
    """Refuse what the training points cannot give; the number of points each fit learns from."""
    if len(classes) < 2:
        raise InvalidOptionError(f"the training points of {where} have a single class "
                                 f"({train.label_name(classes[0])!r}); a classifier needs at least two")
    sizes = {label: int((train.labels == label).sum()) for label in classes}
    smallest = min(classes, key=sizes.__getitem__)
    if shots is not None and shots > sizes[smallest]:
        raise InvalidOptionError(f"{shots} shots are more than the {sizes[smallest]} training points of class "
                                 f"{train.label_name(smallest)!r} (the smallest class); use --shots "
                                 f"{sizes[smallest]} or fewer")
    if cv is not None and sizes[smallest] < 2:
        lonely = [train.label_name(label) for label in classes if sizes[label] < 2]
        named = ", ".join(repr(name) for name in lonely[:5]) + (f" and {len(lonely) - 5} more" if len(lonely) > 5 else "")
        raise InvalidOptionError(f"class{'es' if len(lonely) > 1 else ''} {named} of {where} "
                                 f"{'have' if len(lonely) > 1 else 'has'} a single point, and cross-validation needs "
                                 f"at least 2 of each class: add another image of "
                                 f"{'each' if len(lonely) > 1 else 'it'}, or leave "
                                 f"{'those classes' if len(lonely) > 1 else 'that class'} out of the collection")
    if cv is not None and cv > sizes[smallest]:
        raise InvalidOptionError(f"{cv} folds need {cv} points of each class, and class "
                                 f"{train.label_name(smallest)!r} has {sizes[smallest]}; use --cv {sizes[smallest]} "
                                 f"or fewer")
    if shots is not None:
        fit_size = shots * len(classes)
    elif cv is not None:
        fit_size = len(train.ids) - -(-len(train.ids) // cv)  # the smallest training fold
    else:
        fit_size = len(train.ids)
    if isinstance(method, str) and method == "knn" and k > fit_size:
        raise InvalidOptionError(f"k={k} neighbours are more than the {fit_size} points each fit trains on; use "
                                 f"-k {fit_size} or fewer")
    return fit_size


def _split_points(points: LabelledVectors, split: str | None, role: str, where: str) -> LabelledVectors:
    if split is None:
        return points
    positions = np.flatnonzero([stored == split for stored in points.splits])
    if not len(positions):
        present = sorted({str(stored) for stored in points.splits})
        raise InvalidOptionError(
            f"the {role} split {split!r} of {where} has no points (its splits: {', '.join(present)}); name another "
            f"with --{role}-split" + ("" if len(present) > 1 else ", or cross-validate with --cv 5")
        )
    return points.subset(positions)


def _labelled(points: LabelledVectors, split: str | None, where: str, notes: list[str]) -> LabelledVectors:
    labelled = np.flatnonzero(points.labels != NO_LABEL)
    shown = where + (f" split {split!r}" if split else "")
    if not len(labelled):
        raise InvalidOptionError(f"no point of {shown} has a label; a classifier learns from the payload field "
                                 f"'label': ingest a labelled dataset (or name a labelled split)")
    if len(labelled) < len(points.ids):
        notes.append(f"{len(points.ids) - len(labelled)} points of {shown} have no label and are left out")
    return points.subset(labelled)


def _k_shot(method: str | Any, train: LabelledVectors, test: LabelledVectors, shots: int, seeds: int, k: int,
            seed: int) -> tuple[list[Run], LabelledVectors]:
    """One run per seed, each on its own sample; and the first run's training points."""
    samples = [train.subset(sample_shots(train.labels, shots, seed + offset)) for offset in range(seeds)]
    return [fit_and_score(method, sample, test, k, seed + offset) for offset, sample in enumerate(samples)], samples[0]


def _cross_validate(method: str | Any, points: LabelledVectors, folds: int, k: int,
                    seed: int) -> tuple[list[Run], np.ndarray, Method, list[str]]:
    """One run per fold; each point's prediction by the fold that left it out; the classifier refit on every point."""
    from sklearn.model_selection import StratifiedKFold

    runs, predicted = [], np.empty_like(points.labels)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_positions, test_positions in splitter.split(points.vectors, points.labels):
        runs.append(fit_and_score(method, points.subset(train_positions), points.subset(test_positions), k, seed))
        predicted[test_positions] = runs[-1].predicted
    refit = fit(method, points.vectors, points.labels, k, seed)
    return runs, predicted, refit, [f"cross-validated in {folds} folds; the classifier kept is refit on all "
                                    f"{len(points.ids)} points", *refit.notes]


def _run_rows(runs: list[Run], protocol: str, seed: int) -> list[dict[str, Any]]:
    return [{**({"seed": seed + index} if protocol == "k-shot" else {"fold": index + 1}), "accuracy": run.accuracy,
             "macro_f1": run.macro_f1, "train_accuracy": run.train_accuracy} for index, run in enumerate(runs)]


def _provenance(report: ClassifyReport, record: VectorRecord, kept: Method, trained_on: LabelledVectors,
                classes: list[int], names: dict[int, str], **training: Any) -> dict[str, Any]:
    return {
        "kind": TrainedClassifier.KIND, "format": TrainedClassifier.FORMAT,
        "collection": report.collection, "vector_name": report.vector_name, "vector_record": record.to_json(),
        "classifier": kept.name, "params": kept.params, "estimator": repr(kept.estimator),
        "training": {"protocol": report.protocol, "split": report.train_split, "count": len(trained_on.ids),
                     "classes": {str(label): names.get(label, str(label)) for label in classes},
                     "content_sha256": content_sha256(trained_on.ids, trained_on.labels), **training},
        "metrics": {key: getattr(report, key) for key in ("accuracy", "macro_f1", "train_accuracy", "accuracy_std",
                                                          "macro_f1_std", "test_split", "test_count")},
        "library": _sklearn_version(), "embedkit_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _write_picture(report: ClassifyReport, folder: Path) -> Path:
    """The confusion matrix as a PNG in `folder`; the report's JSON is named beside it, to be written once complete."""
    from embedkit.drawing.confusion import plot_confusion  # imports matplotlib: only when a picture is drawn

    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{report.collection}-{report.vector_name}-{report.method}-"
                                             f"{protocol_name(report)}")
    title = (f"{report.collection} / {report.vector_name}\n{report.method} ({report.protocol}): accuracy "
             f"{report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}")
    matrix = np.asarray(report.confusion, dtype=np.int64)
    picture = plot_confusion(matrix, report.confusion_labels, folder / f"{stem}-confusion.png", title)
    report.confusion_png, report.report_json = str(picture), str(folder / f"{stem}.json")
    return picture


def protocol_name(report: ClassifyReport) -> str:
    """How the report's files tell its protocol apart, so that a split run and a --cv run of the same method do
    not replace each other's: `train-vs-test`, `cv`, `k-shot`."""
    if report.protocol == "split":
        return f"{report.train_split}-vs-{report.test_split}"
    return report.protocol


def _sklearn_version() -> str:
    import sklearn

    return f"scikit-learn {sklearn.__version__}"
