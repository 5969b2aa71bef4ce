"""Known answers on synthetic vectors: separable classes are classified and clustered exactly, planted duplicates are
all found and nothing else; a refused call writes nothing into the store."""

from __future__ import annotations

import numpy as np
import pytest

from embedkit.analysis.classify import classify
from embedkit.analysis.cluster import cluster_collection
from embedkit.analysis.duplicates import find_duplicates
from embedkit.errors import EmbedkitError
from embedkit.records import VectorRecord
from embedkit.store import open_store

CLASSES, PER_SPLIT = 4, 15


def separable(seed: int = 0, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Tight clusters around orthogonal directions: every method must get every point right."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(CLASSES), 2 * PER_SPLIT)
    vectors = np.eye(dim, dtype=np.float32)[labels] * 10 + 0.05 * rng.standard_normal((len(labels), dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), labels


def contents(location) -> dict:
    """What an embedded store holds: every collection's points with their vectors and payloads (payload indexes
    included). Not its files: Qdrant Edge rewrites its config and page trackers when a store is merely read."""
    held = {}
    with open_store(location) as store:
        for info in store.collections():
            collection = info.name
            names = store.vector_names(collection)
            for ids, arrays, payloads in store.iter_points(collection, names):
                for n, sample_id in enumerate(ids):
                    held[collection, sample_id] = ({name: arrays[name][n].tobytes() for name in names}, payloads[n])
            held[collection] = (info, store.vector_record(collection, names[0]), store.datasets(collection),
                                store.indexed_fields(collection))
    return held


@pytest.fixture
def location(tmp_path):
    vectors, labels = separable()
    with open_store(tmp_path / "store") as store:
        store.ensure_vector("known", "v", VectorRecord("v", vectors.shape[1], "image", weights="synthetic"))
        store.upsert("known", "v", [f"p{i:03d}" for i in range(len(labels))], vectors,
                     [{"label": int(label), "label_name": f"class {label}", "split": "train" if i % 2 else "test"}
                      for i, label in enumerate(labels)])
    return tmp_path / "store"


@pytest.mark.parametrize("method", ["knn", "linear", "svm", "forest"])
def test_separable_classes_are_classified_without_a_mistake(location, method):
    report = classify(location, "known", method=method, k=5)
    assert report.accuracy == 1.0 and report.macro_f1 == 1.0 and report.train_accuracy == 1.0
    assert report.test_count == CLASSES * PER_SPLIT
    assert np.trace(report.confusion) == CLASSES * PER_SPLIT


@pytest.mark.parametrize("method", ["kmeans", "agglomerative"])
def test_separable_classes_are_clustered_exactly(location, method):
    report = cluster_collection(location, "known", method=method, k=CLASSES, write=False)
    assert report.scores.nmi == pytest.approx(1.0) and report.scores.ari == pytest.approx(1.0)
    assert report.baseline.nmi < 0.2


def test_planted_duplicates_are_all_found_and_nothing_else(tmp_path):
    rng = np.random.default_rng(1)
    originals = rng.standard_normal((200, 32)).astype(np.float32)  # random directions: cosine about 0 to each other
    copies = {5: 1.0, 17: 0.99, 60: 0.97, 150: 0.96}  # original row: the copy's cosine with it
    vectors, ids = list(originals), [f"o{i:03d}" for i in range(len(originals))]
    for row, cosine in copies.items():
        unit = originals[row] / np.linalg.norm(originals[row])
        away = rng.standard_normal(32)
        away -= away @ unit * unit
        vectors.append((cosine * unit + np.sqrt(1 - cosine**2) * away / np.linalg.norm(away)).astype(np.float32))
        ids.append(f"copy-of-{row:03d}")
    with open_store(tmp_path / "store") as store:
        store.ensure_vector("planted", "v", VectorRecord("v", 32, "image", weights="synthetic"))
        store.upsert("planted", "v", ids, np.stack(vectors), [{} for _ in ids])
        report = find_duplicates(store, "planted", threshold=0.95)
    found = sorted(tuple(sorted(member.sample_id for member in group.members)) for group in report.groups)
    assert found == sorted((f"copy-of-{row:03d}", f"o{row:03d}") for row in copies)


def test_refused_analyses_write_nothing(location, tmp_path):
    with open_store(location) as store:  # a collection whose points have no label
        store.ensure_vector("unlabelled", "v", VectorRecord("v", 16, "image", weights="synthetic"))
        store.upsert("unlabelled", "v", [f"u{i}" for i in range(10)], separable()[0][:10], [{} for _ in range(10)])
    before = contents(location)
    refused = [
        lambda: classify(location, "unlabelled", cv=2),  # nothing to learn from
        lambda: classify(location, "known", k=1000),  # more neighbours than training points
        lambda: classify(location, "known", vector="no-such-vector"),
        lambda: cluster_collection(location, "known", vector="no-such-vector"),
        lambda: cluster_collection(location, "known", k=1000),
        lambda: find_duplicates(location, "known", vector="no-such-vector", mark=True),
    ]
    for number, call in enumerate(refused):
        with pytest.raises(EmbedkitError) as error:
            call()
        assert "\n" not in str(error.value)
        assert contents(location) == before, f"refused call {number} wrote into the store"
