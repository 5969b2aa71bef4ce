"""The tasks a benchmark scores beside retrieval, on the same stored vectors: kNN and linear-probe classification
and clustering (MIEB's task families), each with the baseline chance gives.

Where the protocol has two splits, a classifier learns from the gallery split and is scored on the query split;
leave-one-out has one split, so it is cross-validated there in stratified folds. Clustering runs k-means with
as many clusters as the gallery has labels and scores it against them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embedkit.analysis.classifiers import fit_and_score
from embedkit.analysis.vectors import LabelledVectors
from embedkit.errors import InvalidOptionError

RETRIEVAL = "retrieval"
CLASSIFIERS = {"knn": "knn", "linear": "linear"}
"""Task name -> the analysis room's classifier method."""
CLUSTERING = "clustering"
TASKS = (RETRIEVAL, *CLASSIFIERS, CLUSTERING)
FOLDS = 5
KNN_K = 10
CLUSTERING_SEEDS = 3
"""Seeds the clustering task runs k-means with, to report the spread of its scores."""


def parse_tasks(text: str | None) -> tuple[str, ...]:
    """`retrieval,knn,...` as a tuple in TASKS order; retrieval alone when nothing is named."""
    names = [name.strip().lower() for name in (text or RETRIEVAL).split(",") if name.strip()]
    unknown = [name for name in names if name not in TASKS]
    if unknown or not names:
        raise InvalidOptionError(f"unknown task {', '.join(unknown) or repr(text)}; use any of {', '.join(TASKS)} "
                                 f"(comma-separated)")
    return tuple(task for task in TASKS if task in names)


def classification(method: str, gallery: LabelledVectors, queries: LabelledVectors | None, seed: int) -> dict[str, Any]:
    """Accuracy and macro-F1 of `method` trained on `gallery` and scored on `queries` (None: cross-validated
    on `gallery`), with the majority-class baseline."""
    if queries is None:
        folds = _folds(gallery)
        runs, baselines, sizes = [], [], []
        from sklearn.model_selection import StratifiedKFold

        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train, test in splitter.split(gallery.vectors, gallery.labels):
            sizes.append((len(train), len(test)))
            runs.append(fit_and_score(method, gallery.subset(train), gallery.subset(test), min(KNN_K, len(train)), seed))
            baselines.append(majority(gallery.labels[train], gallery.labels[test]))
        protocol = f"{folds}-fold cross-validation"
        trained, tested = (round(float(np.mean(side))) for side in zip(*sizes))  # per fold, on average
    else:
        runs = [fit_and_score(method, gallery, queries, min(KNN_K, len(gallery.ids)), seed)]
        baselines = [majority(gallery.labels, queries.labels)]
        protocol = f"trained on {_split_name(gallery)}, tested on {_split_name(queries)}"
        trained, tested = len(gallery.ids), len(queries.ids)
    accuracies = [run.accuracy for run in runs]
    return {
        "method": runs[0].fitted.name, "params": runs[0].fitted.params, "protocol": protocol,
        "train_count": trained, "test_count": tested,
        "accuracy": float(np.mean(accuracies)), "accuracy_std": float(np.std(accuracies)) if len(runs) > 1 else None,
        "macro_f1": float(np.mean([run.macro_f1 for run in runs])),
        "train_accuracy": float(np.mean([run.train_accuracy for run in runs])),
        "baseline": {"name": "majority class", "accuracy": float(np.mean([b[0] for b in baselines])),
                     "macro_f1": float(np.mean([b[1] for b in baselines]))},
        "notes": sorted({note for run in runs for note in run.fitted.notes}),
    }


def majority(train_labels: np.ndarray, test_labels: np.ndarray) -> tuple[float, float]:
    """Accuracy and macro-F1 of always answering the most frequent training label."""
    from sklearn.metrics import f1_score

    values, counts = np.unique(train_labels, return_counts=True)
    guess = np.full_like(test_labels, values[np.argmax(counts)])
    return float(np.mean(guess == test_labels)), float(f1_score(test_labels, guess, average="macro"))


def clustering(points: LabelledVectors, seed: int) -> dict[str, Any]:
    """K-means (KMEANS_STARTS k-means++ starts) with one cluster per label, scored against the labels, and random
    clusterings of the same sizes; the scores are `seed`'s, and `over_seeds` gives their spread over
    CLUSTERING_SEEDS seeds from `seed` on (mean, std, min, max)."""
    from embedkit.analysis.cluster import KMEANS_STARTS, cluster_scores, fit_clusters, make_clusterer, random_baseline

    classes = len(np.unique(points.labels))
    runs = []
    for run_seed in range(seed, seed + CLUSTERING_SEEDS):
        clusterer = make_clusterer("kmeans", len(points.ids), k=classes, seed=run_seed)
        assignments = fit_clusters(clusterer, points.vectors)
        runs.append(vars(cluster_scores(points.vectors, assignments, points.labels, seed=run_seed)))
        if run_seed == seed:
            chance = random_baseline(points.vectors, assignments, points.labels, seed=seed)
    spread = {name: {"mean": float(np.mean(values)), "std": float(np.std(values)), "min": float(np.min(values)),
                     "max": float(np.max(values))}
              for name in runs[0] if None not in (values := [run[name] for run in runs])}
    return {"method": "kmeans", "starts": KMEANS_STARTS, "clusters": classes, "points": len(points.ids), **runs[0],
            "over_seeds": {"seeds": list(range(seed, seed + CLUSTERING_SEEDS)), **spread},
            "baseline": {"name": "random clustering, same sizes", **vars(chance)}}


def _folds(points: LabelledVectors) -> int:
    smallest = int(np.unique(points.labels, return_counts=True)[1].min())
    if smallest < 2:
        raise InvalidOptionError("a class has a single sample in the split: classification needs at least two per "
                                 "class to cross-validate; benchmark more samples (--limit, --full)")
    return min(FOLDS, smallest)


def _split_name(points: LabelledVectors) -> str:
    names = sorted({str(split) for split in points.splits}) or ["?"]
    return "+".join(names)
