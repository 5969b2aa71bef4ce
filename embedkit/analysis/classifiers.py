"""The classifiers `classify` fits on stored vectors, and the per-class scores it reports.

Every classifier is a scikit-learn estimator: one of METHODS, or any estimator given, cloned for each fit.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedkit.analysis.vectors import LabelledVectors
from embedkit.errors import InvalidOptionError, first_line

METHODS = ("knn", "linear", "svm", "forest")
SVM_EXACT_LIMIT = 10_000
"""Training points above which `svm` approximates its RBF kernel (Nystroem + LinearSVC): an exact SVC's time grows
with the square of the points (or worse)."""
NYSTROEM_COMPONENTS = 1000
LINEAR_MAX_ITER = 1000
FOREST_TREES = 100
TRAIN_ACCURACY_SAMPLE = 10_000
"""The training points the training accuracy is measured on, at most: all 60,000 of Fashion-MNIST's would make
a kNN score six times the work of its test split."""


@dataclass
class Method:
    """A scikit-learn estimator, with what a report says of it."""

    name: str
    estimator: Any
    params: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass
class ClassScores:
    label: int
    name: str
    precision: float
    recall: float
    f1: float
    support: int
    """Test points of this class."""


@dataclass
class Run:
    """One fit, scored on its test points."""

    fitted: Method
    predicted: np.ndarray
    accuracy: float
    macro_f1: float
    train_accuracy: float


def is_estimator(value: Any) -> bool:
    return callable(getattr(value, "fit", None)) and callable(getattr(value, "predict", None))


def make_method(method: str | Any, *, k: int, seed: int, train_vectors: np.ndarray) -> Method:
    """The estimator `method` names (one of METHODS), set up for `train_vectors`; or a fresh clone of the
    scikit-learn estimator given."""
    from sklearn.base import clone

    if not isinstance(method, str):
        if not is_estimator(method):
            raise InvalidOptionError(f"a classifier is one of {', '.join(METHODS)} or a scikit-learn estimator "
                                     f"(with fit and predict), not {type(method).__name__}")
        try:
            fresh = clone(method)
        except TypeError as error:  # not a scikit-learn estimator: no get_params
            raise InvalidOptionError(f"{type(method).__name__} cannot be cloned as a scikit-learn estimator "
                                     f"(it needs get_params); derive it from sklearn.base.BaseEstimator") from error
        return Method(type(method).__name__, fresh, estimator_params(fresh))
    if method == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return Method("knn", KNeighborsClassifier(n_neighbors=k, metric="cosine", weights="distance"),
                      {"k": k, "metric": "cosine", "weights": "distance"})
    if method == "linear":
        from sklearn.linear_model import LogisticRegression

        return Method("linear", LogisticRegression(C=1.0, max_iter=LINEAR_MAX_ITER, random_state=seed),
                      {"model": "logistic regression", "C": 1.0, "max_iter": LINEAR_MAX_ITER, "seed": seed})
    if method == "svm":
        return _svm(train_vectors, seed)
    if method == "forest":
        from sklearn.ensemble import RandomForestClassifier

        return Method("forest", RandomForestClassifier(n_estimators=FOREST_TREES, random_state=seed, n_jobs=-1),
                      {"trees": FOREST_TREES, "seed": seed})
    raise InvalidOptionError(f"unknown classifier {method!r}; use one of {', '.join(METHODS)} "
                             f"(or pass a scikit-learn estimator)")


def _svm(train_vectors: np.ndarray, seed: int) -> Method:
    from sklearn.svm import SVC

    # what SVC's gamma="scale" computes, written out so that the approximation uses the same kernel
    variance = float(train_vectors.var()) if train_vectors.size else 0.0
    gamma = 1.0 / (train_vectors.shape[1] * variance) if variance > 0 else 1.0
    if len(train_vectors) <= SVM_EXACT_LIMIT:
        return Method("svm", SVC(kernel="rbf", C=1.0, gamma=gamma), {"kernel": "rbf", "C": 1.0, "gamma": gamma})
    from sklearn.kernel_approximation import Nystroem
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    components = min(NYSTROEM_COMPONENTS, len(train_vectors))
    pipeline = make_pipeline(Nystroem(kernel="rbf", gamma=gamma, n_components=components, random_state=seed),
                             LinearSVC(C=1.0, random_state=seed))
    note = (f"svm: {len(train_vectors)} training points are more than {SVM_EXACT_LIMIT}, so the RBF kernel is "
            f"approximated (Nystroem, {components} components, then a linear SVM)")
    return Method("svm", pipeline, {"kernel": "rbf (Nystroem approximation)", "C": 1.0, "gamma": gamma,
                                    "components": components, "seed": seed}, [note])


def estimator_params(estimator: Any) -> dict[str, Any]:
    """An estimator's parameters as JSON can hold them (others by their repr)."""
    try:
        params = estimator.get_params(deep=False)
    except (AttributeError, TypeError):
        return {}
    return {name: value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
            for name, value in sorted(params.items())}


def fit_quietly(estimator: Any, vectors: np.ndarray, labels: np.ndarray) -> list[str]:
    """Fit `estimator`; what scikit-learn warned of (a solver that did not converge) is returned, not printed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(vectors, labels)
    return sorted({f"{type(estimator).__name__}: {w.message}".splitlines()[0] for w in caught})


def fit(method: str | Any, vectors: np.ndarray, labels: np.ndarray, k: int, seed: int) -> Method:
    """A new estimator of `method`, fitted; its notes include what scikit-learn warned of."""
    chosen = make_method(method, k=k, seed=seed, train_vectors=vectors)
    with _refused(chosen.name, len(labels)):
        chosen.notes += fit_quietly(chosen.estimator, vectors, labels)
    return chosen


def score(estimator: Any, vectors: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The predictions, accuracy and macro-F1 of a fitted estimator on labelled vectors."""
    from sklearn.metrics import accuracy_score, f1_score

    predicted = estimator.predict(vectors)
    return predicted, float(accuracy_score(labels, predicted)), float(f1_score(labels, predicted, average="macro"))


def fit_and_score(method: str | Any, train: LabelledVectors, test: LabelledVectors, k: int, seed: int) -> Run:
    """Fit on `train`, score on `test` (and on `train`, for the training accuracy: on at most
    TRAIN_ACCURACY_SAMPLE of its points, drawn with `seed`, so that it never costs more than a large test split)."""
    fitted = fit(method, train.vectors, train.labels, k, seed)
    with _refused(fitted.name, len(train.labels)):
        predicted, accuracy, macro_f1 = score(fitted.estimator, test.vectors, test.labels)
        sample = np.arange(len(train.labels))
        if len(sample) > TRAIN_ACCURACY_SAMPLE:
            sample = np.sort(np.random.default_rng(seed).choice(sample, TRAIN_ACCURACY_SAMPLE, replace=False))
        _, train_accuracy, _ = score(fitted.estimator, train.vectors[sample], train.labels[sample])
    return Run(fitted, predicted, accuracy, macro_f1, train_accuracy)


@contextmanager
def _refused(name: str, count: int) -> Iterator[None]:
    """An estimator's refusal of its data (an estimator given in Python: k larger than the points) in one line."""
    try:
        yield
    except ValueError as error:
        raise InvalidOptionError(f"{name} could not learn from {count} points: {first_line(error)}") from error


def class_scores(truth: np.ndarray, predicted: np.ndarray, labels: Sequence[int],
                 names: dict[int, str]) -> list[ClassScores]:
    """Precision, recall, F1 and support of each label in `labels` (0 where a class is never predicted)."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=list(labels),
                                                                     zero_division=0)
    return [ClassScores(int(label), names.get(int(label), str(label)), float(p), float(r), float(f), int(s))
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)]
