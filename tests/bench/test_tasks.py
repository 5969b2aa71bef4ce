"""`bench --tasks`: kNN, linear-probe and clustering scores beside retrieval, on the benchmark's own vectors,
equal to scikit-learn run directly on them, each with the baseline chance gives."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, normalized_mutual_info_score
from sklearn.neighbors import KNeighborsClassifier

from embedkit.analysis.vectors import LabelledVectors
from embedkit.bench import BuildSpec, QuerySpec, bench
from embedkit.bench.tasks import classification, clustering, parse_tasks
from embedkit.cli import main
from embedkit.errors import InvalidOptionError
from tests.support.photos import PER_CLASS, make_photo_folder


def blobs(n: int, classes: int = 3, seed: int = 0, dim: int = 6) -> LabelledVectors:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    vectors = np.eye(dim)[labels] * 4 + rng.standard_normal((n, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return LabelledVectors([f"s{i:03d}" for i in range(n)], vectors, labels.astype(np.int64),
                           {c: f"class{c}" for c in range(classes)})


def test_tasks_are_parsed_in_a_fixed_order_and_an_unknown_one_is_refused():
    assert parse_tasks(None) == ("retrieval",)
    assert parse_tasks("clustering, knn,retrieval") == ("retrieval", "knn", "clustering")
    with pytest.raises(InvalidOptionError, match="unknown task knnn; use any of retrieval, knn, linear, clustering"):
        parse_tasks("knnn")


@pytest.mark.parametrize("method, estimator", [
    ("knn", KNeighborsClassifier(n_neighbors=10, metric="cosine", weights="distance")),
    ("linear", LogisticRegression(max_iter=1000)),
])
def test_a_classifier_trained_on_the_gallery_scores_the_queries_as_scikit_learn_does(method, estimator):
    gallery, queries = blobs(90, seed=1), blobs(60, seed=2)
    gallery.splits, queries.splits = ["train"] * 90, ["test"] * 60
    scores = classification(method, gallery, queries, seed=0)
    assert scores["protocol"] == "trained on train, tested on test"
    expected = accuracy_score(queries.labels, estimator.fit(gallery.vectors, gallery.labels).predict(queries.vectors))
    assert scores["accuracy"] == pytest.approx(expected)
    assert scores["accuracy"] > 0.8 and scores["baseline"]["accuracy"] == pytest.approx(1 / 3)
    assert (scores["train_count"], scores["test_count"], scores["accuracy_std"]) == (90, 60, None)


def test_leave_one_out_cross_validates_in_stratified_folds_and_a_lone_sample_is_an_error():
    scores = classification("knn", blobs(40, classes=4), None, seed=0)
    assert scores["protocol"] == "5-fold cross-validation" and scores["accuracy_std"] is not None
    assert (scores["train_count"], scores["test_count"]) == (32, 8)  # per fold
    lonely = blobs(7, classes=4)  # class 3 has one sample
    with pytest.raises(InvalidOptionError, match="at least two per class"):
        classification("knn", lonely, None, seed=0)


def test_clustering_finds_the_classes_and_the_random_baseline_does_not():
    points = blobs(90)
    scores = clustering(points, seed=0)
    ours = KMeans(n_clusters=3, n_init=10, random_state=0).fit_predict(points.vectors)
    assert scores["nmi"] == pytest.approx(normalized_mutual_info_score(points.labels, ours))
    assert scores["nmi"] > 0.5 > scores["baseline"]["nmi"] and scores["clusters"] == 3 and scores["starts"] == 10


def test_clustering_reports_the_spread_of_its_scores_over_seeds():
    points = blobs(90)
    scores = clustering(points, seed=4)
    per_seed = [normalized_mutual_info_score(points.labels, KMeans(n_clusters=3, n_init=10, random_state=s)
                                             .fit_predict(points.vectors)) for s in (4, 5, 6)]
    spread = scores["over_seeds"]
    assert spread["seeds"] == [4, 5, 6]
    assert spread["nmi"]["mean"] == pytest.approx(np.mean(per_seed))
    assert spread["nmi"]["std"] == pytest.approx(np.std(per_seed))
    assert spread["nmi"]["min"] == pytest.approx(min(per_seed)) and spread["nmi"]["max"] == pytest.approx(max(per_seed))


def test_bench_with_tasks_writes_them_beside_retrieval_and_shows_a_table_per_task(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    results, failures = bench([f"folder:{folder}"], ["mobilenet_v2.random"], image_size=32, store=tmp_path / "store",
                              out_dir=tmp_path / "out", query=QuerySpec(tasks=("knn", "linear", "clustering")),
                              build=BuildSpec(workers=0), device="cpu")
    assert not failures
    (result,) = results
    assert set(result.tasks) == {"knn", "linear", "clustering"} and result.metrics["map@5"] > 0
    assert not [scores for scores in result.tasks.values() if "error" in scores], result.tasks
    assert result.tasks["knn"]["protocol"] == "5-fold cross-validation"  # leave-one-out: one split
    assert result.tasks["knn"]["train_count"] + result.tasks["knn"]["test_count"] == 2 * PER_CLASS  # per fold
    assert result.tasks["clustering"]["clusters"] == 2
    (saved,) = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")]
    assert saved["tasks"]["linear"]["accuracy"] == result.tasks["linear"]["accuracy"]
    # wide enough that no title wraps: the dataset's name holds pytest's temporary path, of any length
    shown = CliRunner().invoke(main, ["bench", "report", str(tmp_path / "out")], env={"COLUMNS": "1000"})
    assert shown.exit_code == 0, shown.output
    for title in ("kNN classification", "linear probe", "k-means, one cluster per label", "majority class",
                  "random clustering"):
        assert title in shown.output
