"""Clusters from stored vectors: scored against chance, written back as an indexed payload field, never encoding."""

from __future__ import annotations


import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, normalized_mutual_info_score, silhouette_score

from embedkit.analysis import cluster
from embedkit.analysis.cluster import NOISE, cluster_collection
from embedkit.analysis.vectors import stored_vectors
from embedkit.errors import InvalidOptionError
from embedkit.records import VectorRecord
from embedkit.store import open_store


def stored(location):
    with open_store(location) as store:
        return stored_vectors(store, "shapes", "colour.v1", None, require_labels=False)


def test_kmeans_finds_the_colours_far_above_a_random_clustering_of_the_same_sizes_without_encoding(ingested, location):
    _, encoder = ingested
    seen = encoder.images_seen
    report = cluster_collection(location, "shapes", k=3, write=True)
    assert encoder.images_seen == seen
    assert (report.points, report.clusters, report.noise, report.labelled) == (36, 3, 0, 36)
    assert report.scores.nmi > 0.9 and report.scores.nmi > report.baseline.nmi + 0.6
    assert report.scores.ari > 0.8 and abs(report.baseline.ari) < 0.2
    assert report.scores.silhouette > report.baseline.silhouette + 0.3
    assert report.scores.davies_bouldin < report.baseline.davies_bouldin
    assert sorted(s.size for s in report.summaries) == sorted(np.bincount(report.assignments).tolist())
    assert {s.top_label for s in report.summaries} == {"red", "green", "blue"}
    assert all(s.top_share > 0.9 for s in report.summaries)


def test_the_scores_are_scikit_learns_own_on_the_same_vectors(location):
    report = cluster_collection(location, "shapes", k=4, write=False)
    data = stored(location)
    assert data.ids == report.ids
    assignments = report.assignments
    assert report.scores.silhouette == pytest.approx(silhouette_score(data.vectors, assignments, metric="cosine"))
    assert report.scores.davies_bouldin == pytest.approx(davies_bouldin_score(data.vectors, assignments))
    assert report.scores.nmi == pytest.approx(normalized_mutual_info_score(data.labels, assignments))
    assert report.scores.ari == pytest.approx(adjusted_rand_score(data.labels, assignments))
    assert report.silhouette_sample is None


def test_the_silhouette_of_many_points_is_computed_on_a_sample_and_says_so(location, monkeypatch):
    monkeypatch.setattr(cluster, "SILHOUETTE_SAMPLE", 12)
    report = cluster_collection(location, "shapes", k=3, write=False, seed=5)
    data = stored(location)
    assert report.silhouette_sample == 12
    expected = silhouette_score(data.vectors, report.assignments, metric="cosine", sample_size=12, random_state=5)
    assert report.scores.silhouette == pytest.approx(expected)


def test_each_points_cluster_is_written_to_an_indexed_field_that_filters_searches(location):
    report = cluster_collection(location, "shapes", k=3, write="colour_group")
    assert report.field == "colour_group" and report.written == 36
    with open_store(location) as store:
        assert store.indexed_fields("shapes")["colour_group"] == "integer"
        for group in range(3):
            members = {i for i, c in zip(report.ids, report.assignments.tolist()) if c == group}
            assert set(store.stored_ids("shapes", "colour.v1", {"colour_group": group})) == members
            query = store.get_vectors("shapes", "colour.v1", [report.ids[0]])[0]
            hits = store.search("shapes", "colour.v1", query, k=36, filter={"colour_group": group})
            assert {hit.sample_id for hit in hits} == members


def test_no_write_leaves_the_payloads_as_they_were(location):
    report = cluster_collection(location, "shapes", k=3, write=False)
    assert report.field is None and report.written == 0
    with open_store(location) as store:
        assert set(store.payload_values("shapes", report.ids, "cluster").values()) == {None}
        assert "cluster" not in store.indexed_fields("shapes")


def test_split_and_limit_cluster_and_write_only_their_points(location):
    report = cluster_collection(location, "shapes", k=3, split="test", limit=10, write=True)
    assert report.points == 10 and report.split == "test" and all("test-" in i for i in report.ids)
    every = stored(location).ids
    with open_store(location) as store:
        values = store.payload_values("shapes", every, "cluster")
    assert {i for i, value in values.items() if value is not None} == set(report.ids)


@pytest.mark.parametrize("linkage", ["ward", "average"])
def test_agglomerative_clustering_finds_the_colours(location, linkage):
    report = cluster_collection(location, "shapes", method="agglomerative", linkage=linkage, k=3, write=False)
    assert report.params["linkage"] == linkage and report.scores.nmi > 0.9


def test_any_scikit_learn_clusterer_is_accepted(location):
    from sklearn.cluster import Birch

    report = cluster_collection(location, "shapes", method=Birch(n_clusters=3, threshold=0.05), write=False)
    assert report.method == "Birch" and report.params["n_clusters"] == 3 and report.scores.nmi > 0.9

    class FitOnly:
        """A clusterer without fit_predict: its clusters are read from labels_ after fit."""

        def fit(self, vectors):
            self.labels_ = (vectors[:, 0] > np.median(vectors[:, 0])).astype(int) * 7
            return self

    halves = cluster_collection(location, "shapes", method=FitOnly(), write=False)
    assert halves.clusters == 2 and set(halves.assignments.tolist()) == {0, 1}


@pytest.fixture
def blobs(tmp_path):
    """Three tight groups of 15 unlabelled points, and 5 points far from them and from each other."""
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 5
    vectors = np.concatenate([centres[i] + rng.normal(0, 0.05, (15, 8)) for i in range(3)]
                             + [np.eye(8)[3:] + rng.normal(0, 0.05, (5, 8))])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"p{i:02d}" for i in range(len(vectors))]
    with open_store(tmp_path / "blobs") as store:
        store.ensure_vector("blobs", "enc", VectorRecord("enc", 8, "image"))
        store.upsert("blobs", "enc", ids, vectors, [{"split": "all"} for _ in ids])
    return tmp_path / "blobs", ids


def test_hdbscan_leaves_outliers_as_noise_and_scores_only_the_clustered_points(blobs):
    location, ids = blobs
    report = cluster_collection(location, "blobs", method="hdbscan", min_cluster_size=5, write=True)
    assert report.clusters == 3 and report.noise >= 3 and report.labelled == 0
    assert report.scores.nmi is None and report.baseline.nmi is None
    outliers = set(ids[45:])
    assert {i for i, c in zip(report.ids, report.assignments.tolist()) if c == NOISE} <= outliers
    clustered = report.assignments != NOISE
    with open_store(location) as store:
        vectors = store.get_vectors("blobs", "enc", report.ids)
        noise = set(store.stored_ids("blobs", "enc", {"cluster": NOISE}))
    assert noise == {i for i, c in zip(report.ids, report.assignments.tolist()) if c == NOISE}
    assert report.scores.silhouette == pytest.approx(
        silhouette_score(vectors[clustered], report.assignments[clustered], metric="cosine"), abs=1e-6)
    assert report.summaries[-1].cluster == NOISE


def test_a_clustering_with_only_noise_has_no_scores_but_is_written(blobs):
    location, ids = blobs
    report = cluster_collection(location, "blobs", method="hdbscan", min_cluster_size=50, write=True)
    assert report.clusters == 0 and report.noise == 50
    assert report.scores.silhouette is None and report.scores.davies_bouldin is None
    assert report.written == 50


@pytest.mark.parametrize(("arguments", "says"), [
    ({"method": "spectral"}, "unknown clustering method 'spectral'; use one of kmeans, agglomerative, hdbscan"),
    ({"k": 1}, "give --k from 2 to 35"),
    ({"k": 36}, "the collection is too small for k=36 clusters: it has 36 points"),
    ({"method": "agglomerative", "linkage": "single"}, "unknown linkage 'single'; use one of ward, average"),
    ({"method": "hdbscan", "min_cluster_size": 99}, "give --min-cluster-size from 2 to 36"),
    ({"write": "label"}, "is written by ingest; write clusters into another field"),
    ({"write": "content@caption"}, "is written by ingest"),
    ({"write": "my cluster"}, "invalid payload field 'my cluster' for clusters"),
    ({"write": "caption"}, "already holds other values (e.g. 'a "),
    ({"split": "validation"}, "no stored vectors in 'shapes'/'colour.v1' split 'validation'"),
    ({"vector": "resnet50"}, "has no vector 'resnet50'"),
])
def test_a_clustering_that_cannot_run_is_refused_in_one_line_that_says_what_to_do(location, arguments, says):
    with pytest.raises(InvalidOptionError) as refused:
        cluster_collection(location, "shapes", **arguments)
    assert says in str(refused.value) and "\n" not in str(refused.value)
    with open_store(location) as store:
        assert "cluster" not in store.indexed_fields("shapes")


def test_agglomerative_clustering_of_too_many_points_is_refused_before_it_runs(location, monkeypatch):
    monkeypatch.setattr(cluster, "AGGLOMERATIVE_LIMIT", 20)
    with pytest.raises(InvalidOptionError, match=r"36 points needs .* GB.*use --method kmeans.*--limit or --split"):
        cluster_collection(location, "shapes", method="agglomerative", k=3)
    assert cluster_collection(location, "shapes", method="agglomerative", k=3, limit=20, write=False).points == 20


def test_limit_reads_the_first_points_in_id_order_and_sample_a_seeded_random_choice(location):
    from embedkit.analysis.cluster import read_points

    every = stored(location).ids
    with open_store(location) as store:
        _, first = read_points(store, "shapes", None, None, 5, 0)
        _, drawn = read_points(store, "shapes", None, None, None, 1, sample=5)
        _, again = read_points(store, "shapes", None, None, None, 1, sample=5)
        _, other = read_points(store, "shapes", None, None, None, 2, sample=5)
        with pytest.raises(InvalidOptionError, match="give one of them"):
            read_points(store, "shapes", None, None, 5, 0, sample=5)
    assert first.ids == every[:5]
    assert drawn.ids == again.ids and drawn.ids != other.ids and drawn.ids != every[:5]
    assert set(drawn.ids) <= set(every) and drawn.ids == sorted(drawn.ids, key=every.index)


def test_too_few_points_are_refused_as_a_collection_too_small(tmp_path):
    with open_store(tmp_path / "two") as store:
        store.ensure_vector("two", "enc", VectorRecord("enc", 4, "image"))
        store.upsert("two", "enc", ["a", "b"], np.eye(4, dtype=np.float32)[:2], [{"split": "all"}] * 2)
    with pytest.raises(InvalidOptionError, match="the collection is too small to cluster: 2 points"):
        cluster_collection(tmp_path / "two", "two", k=3)


def test_kmeans_keeps_the_best_of_several_starts_on_three_points():
    """One k-means++ start split 3 points worse than chance; the best of several starts puts the near pair together."""
    from embedkit.analysis.cluster import fit_clusters, make_clusterer

    vectors = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]], dtype=np.float32)
    for seed in range(3):
        found = fit_clusters(make_clusterer("kmeans", 3, k=2, seed=seed), vectors)
        assert found[0] == found[1] != found[2]
