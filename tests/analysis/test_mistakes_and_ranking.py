"""Known answers for label mistakes and rankings on synthetic vectors: flipped labels found on separable classes,
planted near-copies least unique, a class centre most representative, uncertain points hardest; written fields
indexed; refused calls change nothing."""

from __future__ import annotations

import numpy as np
import pytest

from embedkit.analysis.mistakes import find_mistakes
from embedkit.analysis.out_of_fold import out_of_fold
from embedkit.analysis.ranking import rank_points, uniqueness_from_distances
from embedkit.analysis.vectors import stored_vectors
from embedkit.errors import EmbedkitError
from embedkit.records import VectorRecord
from embedkit.store import open_store
from tests.analysis.test_known_answers import contents

CLASSES, PER_CLASS, DIM = 4, 30, 16
FLIPPED = (3, 40, 77, 101)


def blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Classes around orthogonal directions with some spread: separable, but not every point at the same place."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(CLASSES), PER_CLASS)
    vectors = np.eye(DIM, dtype=np.float32)[labels] * 3 + 0.4 * rng.standard_normal((len(labels), DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), labels


def put(location, collection: str, vectors: np.ndarray, labels, ids=None) -> list[str]:
    ids = ids or [f"p{i:03d}" for i in range(len(vectors))]
    with open_store(location) as store:
        store.ensure_vector(collection, "v", VectorRecord("v", vectors.shape[1], "image", weights="synthetic"))
        store.upsert(collection, "v", ids, vectors,
                     [{} if label is None else {"label": int(label), "label_name": f"class {label}", "split": "train"}
                      for label in labels])
    return ids


@pytest.fixture
def noisy(tmp_path):
    """Separable classes with the labels of FLIPPED points moved to the next class."""
    vectors, labels = blobs()
    given = labels.copy()
    given[list(FLIPPED)] = (given[list(FLIPPED)] + 1) % CLASSES
    put(tmp_path / "store", "noisy", vectors, given)
    return tmp_path / "store"


@pytest.mark.parametrize("method", ["knn", "linear"])
def test_flipped_labels_are_the_top_suspects_and_flagged(noisy, method):
    report = find_mistakes(noisy, "noisy", method=method, k=5, folds=5)
    flipped = {f"p{i:03d}" for i in FLIPPED}
    assert {s.sample_id for s in report.suspects[: len(FLIPPED)]} == flipped
    flagged = {s.sample_id for s in report.suspects if s.issue}
    assert flagged <= flipped and len(flagged) >= len(FLIPPED) - 1  # cleanlab's calibrated counts may round one off
    assert report.points == CLASSES * PER_CLASS and len(report.suspects) == report.points
    for suspect in report.suspects[: len(FLIPPED)]:  # the predicted label is the true one
        assert suspect.predicted == (suspect.label - 1) % CLASSES and suspect.score > 0.5
    scores = [s.score for s in report.suspects]
    assert scores == sorted(scores, reverse=True)
    assert set(report.thresholds) == {f"class {c}" for c in range(CLASSES)}


def test_the_threshold_of_a_class_is_its_mean_self_confidence_as_cleanlab_defines_it(noisy):
    report = find_mistakes(noisy, "noisy", k=5)
    with open_store(noisy) as store:
        points = stored_vectors(store, "noisy", "v", None)
        found = out_of_fold(store, "noisy", "v", points, k=5)
    for column, label in enumerate(found.classes):
        mine = found.probabilities[points.labels == label, column].mean()
        assert report.thresholds[f"class {label}"] == pytest.approx(mine)


def test_knn_probabilities_leave_the_point_out_and_weigh_by_inverse_distance(noisy):
    with open_store(noisy) as store:
        points = stored_vectors(store, "noisy", "v", None)
        found = out_of_fold(store, "noisy", "v", points, k=4)
    assert np.allclose(found.probabilities.sum(axis=1), 1.0)
    cosines = points.vectors @ points.vectors.T
    np.fill_diagonal(cosines, -np.inf)
    for n in (0, 57, 119):
        nearest = np.argsort(-cosines[n])[:4]
        votes = np.zeros(CLASSES)
        for other in nearest:
            votes[points.labels[other]] += 1 / (1 - cosines[n, other])
        assert found.probabilities[n] == pytest.approx(votes / votes.sum(), rel=1e-4)


def test_write_flags_into_an_indexed_field_that_filters(noisy):
    report = find_mistakes(noisy, "noisy", k=5, write=True)
    assert report.field == "label_issue" and report.written == CLASSES * PER_CLASS
    with open_store(noisy) as store:
        assert store.indexed_fields("noisy")["label_issue"] == "integer"
        assert set(store.stored_ids("noisy", "v", {"label_issue": 1})) == {s.sample_id for s in report.suspects
                                                                           if s.issue}
        scores = store.payload_values("noisy", [s.sample_id for s in report.suspects], "label_issue_score")
    assert scores == {s.sample_id: pytest.approx(s.score) for s in report.suspects}


def test_the_grid_shows_the_top_suspects(noisy, tmp_path):
    from PIL import Image

    report = find_mistakes(noisy, "noisy", k=5)
    path = report.save(tmp_path / "suspects.png", count=6)
    with Image.open(path) as image:
        assert image.width >= 6 * 160 and image.height > 160
    document = report.to_json(limit=3)
    assert len(document["suspects"]) == 3 and document["grid"] == str(path) and "payloads" not in document


def test_planted_near_copies_rank_least_unique(tmp_path):
    rng = np.random.default_rng(2)
    originals = rng.standard_normal((80, 24)).astype(np.float32)
    copies = np.stack([originals[i] + 0.01 * rng.standard_normal(24).astype(np.float32) for i in (4, 30, 66)])
    ids = put(tmp_path / "store", "planted", np.concatenate([originals, copies]), [None] * 83,
              [f"o{i:02d}" for i in range(80)] + ["copy-04", "copy-30", "copy-66"])
    report = rank_points(tmp_path / "store", "planted", by="uniqueness")
    assert {p.sample_id for p in report.ranked[-6:]} == {"o04", "o30", "o66", "copy-04", "copy-30", "copy-66"}
    assert report.ranked[0].score == pytest.approx(1.0) and len(report.ranked) == len(ids)
    assert report.ranked[-1].detail["nearest_cosine"] > 0.99


def test_uniqueness_is_fiftyones_weighted_mean_of_neighbour_distances(tmp_path):
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((50, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    put(tmp_path / "store", "plain", vectors, [None] * 50)
    report = rank_points(tmp_path / "store", "plain", by="uniqueness")
    with open_store(tmp_path / "store") as store:
        points = stored_vectors(store, "plain", "v", None, require_labels=False)
    distances = np.linalg.norm(points.vectors[:, None] - points.vectors[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    nearest = np.sort(distances, axis=1)[:, :3]
    expected = nearest @ np.array([0.6, 0.3, 0.1])
    expected /= expected.max()
    mine = {p.sample_id: p.score for p in report.ranked}
    assert [mine[i] for i in points.ids] == pytest.approx(expected.tolist(), abs=1e-5)
    assert uniqueness_from_distances(np.array([[1.0, 2.0], [2.0, 4.0]])).tolist() == [0.5, 1.0]


def test_a_class_centre_is_the_most_representative(tmp_path):
    vectors, labels = blobs(4)
    centres = np.stack([vectors[labels == c].mean(axis=0) for c in range(CLASSES)])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    put(tmp_path / "store", "centred", np.concatenate([vectors, centres]), [*labels, *range(CLASSES)],
        [f"p{i:03d}" for i in range(len(vectors))] + [f"centre-{c}" for c in range(CLASSES)])
    report = rank_points(tmp_path / "store", "centred", by="representativeness", clusters=CLASSES)
    assert {p.sample_id for p in report.ranked[:CLASSES]} == {f"centre-{c}" for c in range(CLASSES)}
    assert len({p.detail["cluster"] for p in report.ranked[:CLASSES]}) == CLASSES


def test_points_between_classes_are_the_hardest(tmp_path):
    vectors, labels = blobs(5)
    between = np.stack([np.eye(DIM)[0] + np.eye(DIM)[1], np.eye(DIM)[2] + np.eye(DIM)[3]]).astype(np.float32)
    between /= np.linalg.norm(between, axis=1, keepdims=True)
    put(tmp_path / "store", "hard", np.concatenate([vectors, between]), [*labels, 0, 2],
        [f"p{i:03d}" for i in range(len(vectors))] + ["between-01", "between-23"])
    report = rank_points(tmp_path / "store", "hard", by="hardness", k=10)
    assert {p.sample_id for p in report.ranked[:2]} == {"between-01", "between-23"}
    assert report.ranked[0].score > 0.3 and report.ranked[-1].score == pytest.approx(0.0)


def test_rank_write_stores_the_score_and_an_indexed_rank(tmp_path):
    vectors, labels = blobs(6)
    put(tmp_path / "store", "r", vectors, labels)
    report = rank_points(tmp_path / "store", "r", by="uniqueness", write=True, field="uniq")
    with open_store(tmp_path / "store") as store:
        assert store.indexed_fields("r")["uniq_rank"] == "integer"
        assert store.stored_ids("r", "v", {"uniq_rank": 1}) == [report.ranked[0].sample_id]
        assert store.payload_values("r", [report.ranked[-1].sample_id], "uniq") == {
            report.ranked[-1].sample_id: pytest.approx(report.ranked[-1].score)}
    picture = report.save(tmp_path / "ends.png", count=4)
    assert picture.is_file()


def test_refused_mistakes_and_rankings_change_nothing(noisy):
    with open_store(noisy) as store:
        store.set_payloads("noisy", {"p000": {"taken": "text"}})
        store.ensure_vector("bare", "v", VectorRecord("v", DIM, "image", weights="synthetic"))
        store.upsert("bare", "v", ["u0", "u1"], blobs()[0][:2], [{}, {}])
    before = contents(noisy)
    refused = [
        lambda: find_mistakes(noisy, "noisy", k=1000, write=True),
        lambda: find_mistakes(noisy, "noisy", method="forest", write=True),
        lambda: find_mistakes(noisy, "noisy", method="linear", folds=100, write=True),
        lambda: find_mistakes(noisy, "noisy", field="taken", write=True),
        lambda: find_mistakes(noisy, "noisy", field="label", write=True),
        lambda: find_mistakes(noisy, "bare", write=True),
        lambda: rank_points(noisy, "noisy", by="beauty", write=True),
        lambda: rank_points(noisy, "noisy", by="uniqueness", k=1000, write=True),
        lambda: rank_points(noisy, "noisy", by="representativeness", clusters=1000, write=True),
        lambda: rank_points(noisy, "noisy", by="uniqueness", field="taken", write=True),
        lambda: rank_points(noisy, "bare", by="hardness", write=True),
        lambda: rank_points(noisy, "noisy", by="uniqueness", vector="nope", write=True),
    ]
    for number, call in enumerate(refused):
        with pytest.raises(EmbedkitError) as error:
            call()
        assert "\n" not in str(error.value), number
    assert contents(noisy) == before  # once, at the end: reading every point back after each call is slow


def test_an_invalid_field_name_is_refused_with_an_example_that_is_valid(noisy):
    with pytest.raises(EmbedkitError, match="invalid payload field 'my flag'") as error:
        find_mistakes(noisy, "noisy", field="my flag", write=True)
    example = str(error.value).rsplit("--field ", 1)[1]
    assert example != "my flag" and " " not in example


def test_without_cleanlab_mistakes_says_how_to_install_it_and_writes_nothing(noisy, monkeypatch):
    import sys

    before = contents(noisy)
    monkeypatch.setitem(sys.modules, "cleanlab.filter", None)  # an import of it raises ImportError
    with pytest.raises(EmbedkitError, match="pip install"):
        find_mistakes(noisy, "noisy", k=5, write=True)
    assert contents(noisy) == before


def test_ranking_tells_the_vectors_read_then_the_neighbours_searched(noisy):
    heard = []
    rank_points(noisy, "noisy", by="uniqueness", progress=heard.append)
    stages = list(dict.fromkeys(p.stage for p in heard))
    assert stages == ["reading the stored vectors", "neighbours"]
    for stage in stages:
        last = [p for p in heard if p.stage == stage][-1]
        assert last.done == last.total == CLASSES * PER_CLASS
