"""Clusters of a collection's stored vectors (k-means, agglomerative, HDBSCAN, or any scikit-learn clusterer),
scored against a random clustering of the same sizes, and written back as an indexed payload field."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from embedkit.analysis.output_fields import check_fields
from embedkit.analysis.vectors import NO_LABEL, LabelledVectors, stored_vectors
from embedkit.errors import InvalidOptionError
from embedkit.store import Store, using_store

log = logging.getLogger(__name__)

METHODS = ("kmeans", "agglomerative", "hdbscan")
LINKAGES = ("ward", "average")
NOISE = -1
"""The cluster of a point HDBSCAN leaves out of every cluster."""
AGGLOMERATIVE_LIMIT = 15_000
"""Agglomerative clustering keeps every pairwise distance: 15,000 points are 0.9 GB of float64, 30,000 are 3.6."""
SILHOUETTE_SAMPLE = 5_000
"""Above this many points the silhouette (n^2 distances) is computed on a random sample of them."""
BASELINE_DRAWS = 3
KMEANS_STARTS = 10
"""K-means runs this many k-means++ starts and keeps the best (scikit-learn's n_init): with one start, NMI on
Fashion-MNIST moved by ~0.05 between seeds, and 3 points in 2 clusters came out worse than chance."""
HDBSCAN_PCA = 50
"""HDBSCAN runs on the first 50 principal components of wider vectors: on 10,000 1280-d vectors it takes 6 s
instead of 216 s, and finds the classes better (density is meaningless in 1280 dimensions)."""


@dataclass
class ClusterScores:
    silhouette: float | None
    """Mean silhouette, cosine distance, noise left out: -1 to 1, higher is better separated."""
    davies_bouldin: float | None
    """Davies-Bouldin index, euclidean on the unit vectors, noise left out: 0 and up, lower is better."""
    nmi: float | None
    """Normalised mutual information with the labels (noise counted as one cluster): 0 to 1."""
    ari: float | None
    """Adjusted Rand index with the labels (noise counted as one cluster): about 0 for chance, 1 for the same."""


@dataclass
class ClusterSummary:
    cluster: int
    size: int
    top_label: str | None
    """The label most of its points have (None when they have none)."""
    top_share: float


@dataclass(kw_only=True)
class ClusterReport:
    collection: str
    vector_name: str
    split: str | None
    method: str
    params: dict[str, Any]
    points: int
    clusters: int
    noise: int
    labelled: int
    """Points with a label, which NMI and ARI compare the clusters with."""
    scores: ClusterScores
    baseline: ClusterScores
    """The mean scores of random clusterings with the same cluster sizes: what chance gives."""
    silhouette_sample: int | None
    """How many points the silhouettes were computed on, when a random sample of them (None: all)."""
    summaries: list[ClusterSummary]
    field: str | None
    """The payload field the clusters were written to (None: not written)."""
    written: int
    seconds: float
    ids: list[str] = field(default_factory=list, repr=False)
    assignments: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    """Each point's cluster (NOISE for none), in the order of `ids`."""

    def to_json(self) -> dict[str, Any]:
        """The report as JSON values, without the per-point ids and assignments."""
        document = asdict(self)
        del document["ids"], document["assignments"]
        return document


DEFAULT_FIELD = "cluster"
"""The payload field `write=True` stores clusters in."""


def read_points(store: Store, collection: str, vector: str | None, split: str | None, limit: int | None,
                seed: int, sample: int | None = None) -> tuple[str, LabelledVectors]:
    """The stored vector name `vector` means (None: the collection's default), and its points of `split`, in
    sample-id order: with `limit`, the first `limit` of them; with `sample`, a random `sample` of them (seeded)."""
    if limit is not None and sample is not None:
        raise InvalidOptionError("limit takes the first N points and sample a random N: give one of them")
    for name, count in (("limit", limit), ("sample", sample)):
        if count is not None and count < 1:
            raise InvalidOptionError(f"{name} must be at least 1, got {count}")
    vector_name = store.vector(collection, vector).name
    data = stored_vectors(store, collection, vector_name, split, require_labels=False)
    if limit is not None and limit < len(data.ids):
        data = data.subset(np.arange(limit))
    if sample is not None and sample < len(data.ids):
        data = data.subset(np.sort(np.random.default_rng(seed).choice(len(data.ids), sample, replace=False)))
    return vector_name, data


def make_clusterer(method: str, n: int, *, k: int = 10, linkage: str = "ward", min_cluster_size: int | None = None,
                   seed: int = 0) -> Any:
    """The scikit-learn clusterer `method` names, for `n` points, after checking that it can run on them."""
    if method not in METHODS:
        raise InvalidOptionError(f"unknown clustering method {method!r}; use one of {', '.join(METHODS)} "
                                 f"(or pass a scikit-learn clusterer object in Python)")
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans

    if method == "hdbscan":
        size = min_cluster_size or max(5, n // 100)
        if not 2 <= size <= n:
            raise InvalidOptionError(f"min cluster size {size} does not fit {n} points; give --min-cluster-size "
                                     f"from 2 to {n}")
        return HDBSCAN(min_cluster_size=size, copy=True)
    if n < 3:
        raise InvalidOptionError(f"the collection is too small to cluster: {n} point{'s' if n != 1 else ''}, and "
                                 f"scoring 2 clusters needs at least 3; ingest more (or check --split and --limit)")
    if k >= n:
        raise InvalidOptionError(f"the collection is too small for k={k} clusters: it has {n} points, and k "
                                 f"clusters need more than k; give --k from 2 to {n - 1}, or cluster more points "
                                 f"(check --split and --limit)")
    if k < 2:
        raise InvalidOptionError(f"k={k} clusters of {n} points cannot be scored; give --k from 2 to {n - 1}")
    if method == "kmeans":
        return KMeans(n_clusters=k, n_init=KMEANS_STARTS, random_state=seed)
    if linkage not in LINKAGES:
        raise InvalidOptionError(f"unknown linkage {linkage!r}; use one of {', '.join(LINKAGES)}")
    if n > AGGLOMERATIVE_LIMIT:
        raise InvalidOptionError(f"agglomerative clustering of {n:,} points needs {n * n * 4 / 1e9:.1f} GB for "
                                 f"their distances; use --method kmeans, or cluster at most {AGGLOMERATIVE_LIMIT:,} "
                                 f"points (--limit or --split)")
    return AgglomerativeClustering(n_clusters=k, linkage=linkage, metric="euclidean" if linkage == "ward" else "cosine")


def cluster_scores(vectors: np.ndarray, assignments: np.ndarray, labels: np.ndarray | None = None, *,
                   sample: int = SILHOUETTE_SAMPLE, seed: int = 0) -> ClusterScores:
    """Silhouette (cosine, on a random `sample` of points above that many) and Davies-Bouldin over the points in
    a cluster; NMI and ARI against `labels` over the labelled points (NO_LABEL: none), noise as one cluster."""
    from sklearn.metrics import (adjusted_rand_score, davies_bouldin_score, normalized_mutual_info_score,
                                 silhouette_score)

    clustered = assignments != NOISE
    kept, groups = vectors[clustered], assignments[clustered]
    silhouette = davies_bouldin = None
    if 2 <= len(np.unique(groups)) < len(groups):
        silhouette = float(silhouette_score(kept, groups, metric="cosine", random_state=seed,
                                            sample_size=sample if len(groups) > sample else None))
        davies_bouldin = float(davies_bouldin_score(kept, groups))
    nmi = ari = None
    if labels is not None:
        labelled = labels != NO_LABEL
        if labelled.sum() >= 2:
            nmi = float(normalized_mutual_info_score(labels[labelled], assignments[labelled]))
            ari = float(adjusted_rand_score(labels[labelled], assignments[labelled]))
    return ClusterScores(silhouette, davies_bouldin, nmi, ari)


def random_baseline(vectors: np.ndarray, assignments: np.ndarray, labels: np.ndarray | None = None, *,
                    draws: int = BASELINE_DRAWS, sample: int = SILHOUETTE_SAMPLE, seed: int = 0) -> ClusterScores:
    """The mean scores of `draws` random clusterings with the sizes of `assignments` (noise included)."""
    rng = np.random.default_rng(seed)
    scored = [cluster_scores(vectors, rng.permutation(assignments), labels, sample=sample, seed=seed)
              for _ in range(draws)]

    def mean(name: str) -> float | None:
        values = [getattr(s, name) for s in scored if getattr(s, name) is not None]
        return float(np.mean(values)) if values else None

    return ClusterScores(mean("silhouette"), mean("davies_bouldin"), mean("nmi"), mean("ari"))


def summaries(assignments: np.ndarray, data: LabelledVectors) -> list[ClusterSummary]:
    """Each cluster's size and most common label, largest first; noise last."""
    found = []
    for cluster, size in Counter(assignments.tolist()).most_common():
        labels = Counter(label for label in data.labels[assignments == cluster].tolist() if label != NO_LABEL)
        top, count = labels.most_common(1)[0] if labels else (None, 0)
        found.append(ClusterSummary(int(cluster), int(size), None if top is None else data.label_name(top),
                                    count / size))
    return sorted(found, key=lambda s: (s.cluster == NOISE, -s.size, s.cluster))


def fit_clusters(clusterer: Any, vectors: np.ndarray) -> np.ndarray:
    """Each point's cluster by a scikit-learn clusterer (fit_predict, or fit then labels_), renumbered 0, 1, ...
    by first appearance; NOISE stays."""
    try:
        found = clusterer.fit_predict(vectors) if hasattr(clusterer, "fit_predict") else clusterer.fit(vectors).labels_
    except (ValueError, TypeError) as error:
        raise InvalidOptionError(f"{type(clusterer).__name__} cannot cluster these {len(vectors)} points "
                                 f"({error}); check its parameters") from error
    found = np.asarray(found, dtype=np.int64).reshape(-1)
    if len(found) != len(vectors):
        raise InvalidOptionError(f"{type(clusterer).__name__} gave {len(found)} clusters for {len(vectors)} points")
    order = [c for c in dict.fromkeys(found.tolist()) if c != NOISE]
    mapping = {old: new for new, old in enumerate(order)} | {NOISE: NOISE}
    return np.asarray([mapping[c] for c in found.tolist()], dtype=np.int64)


def cluster_collection(
    store: Store | str | os.PathLike[str] | None,
    collection: str,
    *,
    vector: str | None = None,
    method: str | Any = "kmeans",
    k: int = 10,
    linkage: str = "ward",
    min_cluster_size: int | None = None,
    split: str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    write: bool | str = False,
    seed: int = 0,
) -> ClusterReport:
    """Cluster the stored vectors of `vector` (None: the default one) of `collection`, score the clusters, and with
    `write` store each point's cluster in a payload field (True: `cluster`, or the field's name), indexed so that
    any Qdrant client can filter by it. `limit` takes the first N points (in sample-id order), `sample` a random N
    (seeded by `seed`).

    `method` is kmeans, agglomerative or hdbscan, or any scikit-learn clusterer object. `store` is a Store, or where
    one is (None: the default store). No image is encoded.
    """
    started = time.perf_counter()
    with using_store(store) as target:
        vector_name, data = read_points(target, collection, vector, split, limit, seed, sample)
        n = len(data.ids)
        field = (DEFAULT_FIELD if write is True else write) if write else None
        if field is not None:
            check_fields(target, collection, {field: int}, data.ids, "clusters")
        if isinstance(method, str):
            clusterer = make_clusterer(method, n, k=k, linkage=linkage, min_cluster_size=min_cluster_size, seed=seed)
            name = method
        else:
            clusterer, name = method, type(method).__name__
        params = _params(clusterer)
        if method == "hdbscan" and min(data.vectors.shape) > HDBSCAN_PCA:
            params["pca_first"] = HDBSCAN_PCA
            assignments = fit_clusters(clusterer, principal_components(data.vectors, HDBSCAN_PCA, seed))
        else:
            assignments = fit_clusters(clusterer, data.vectors)
        labels = data.labels if (data.labels != NO_LABEL).any() else None
        scores = cluster_scores(data.vectors, assignments, labels, sample=SILHOUETTE_SAMPLE, seed=seed)
        baseline = random_baseline(data.vectors, assignments, labels, sample=SILHOUETTE_SAMPLE, seed=seed)
        clustered = int((assignments != NOISE).sum())
        written = 0
        if field is not None:
            command = f"embedkit cluster -c {collection} -e {vector_name}" + \
                (f" --method {method}" if isinstance(method, str) else "") + \
                (f" -k {k}" if method in ("kmeans", "agglomerative") else "") + \
                (f" --split {split}" if split is not None else "") + \
                (f" --limit {limit}" if limit is not None else "") + \
                (f" --sample {sample} --seed {seed}" if sample is not None else "") + f" --write --field {field}"
            with target.writing_fields(collection, [field], command):
                target.set_payloads(collection, {i: {field: int(c)} for i, c in zip(data.ids, assignments.tolist())})
                target.index_field(collection, field, "integer")
            written = n
        log.info("clustered %d points of %s/%s with %s in %.1f s", n, collection, vector_name, name,
                 time.perf_counter() - started)
        return ClusterReport(
            collection=collection, vector_name=vector_name, split=split, method=name, params=params, points=n,
            clusters=len(set(assignments.tolist()) - {NOISE}), noise=n - clustered,
            labelled=int((data.labels != NO_LABEL).sum()), scores=scores, baseline=baseline,
            silhouette_sample=SILHOUETTE_SAMPLE if clustered > SILHOUETTE_SAMPLE else None,
            summaries=summaries(assignments, data), field=field, written=written,
            seconds=time.perf_counter() - started, ids=data.ids, assignments=assignments)


def principal_components(vectors: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    """The first `dim` principal components of `vectors`, each row L2-normalised again."""
    from sklearn.decomposition import PCA

    reduced = PCA(n_components=dim, random_state=seed).fit_transform(vectors)
    return reduced / np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)


def _params(clusterer: Any) -> dict[str, Any]:
    """The clusterer's parameters that are plain values (what a report can print)."""
    params = clusterer.get_params(deep=False) if hasattr(clusterer, "get_params") else {}
    return {key: value for key, value in params.items() if isinstance(value, (str, int, float, bool))}
