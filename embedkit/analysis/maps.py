"""2-D maps of a collection's stored vectors (PCA, t-SNE, UMAP), coloured by label, cluster or split, with some
points' images; `embedkit.drawing.maps` draws them as a PNG, `embedkit.drawing.map_page` as an HTML page."""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from embedkit.analysis.cluster import NOISE, read_points
from embedkit.analysis.vectors import NO_LABEL, LabelledVectors
from embedkit.errors import InvalidOptionError
from embedkit.store import Hit, Store, using_store

log = logging.getLogger(__name__)

METHODS = ("pca", "tsne", "umap")
MIN_POINTS = 3
TSNE_MIN_POINTS = 7
TSNE_SLOW_POINTS = 20_000
"""From this many points on, t-SNE takes many minutes on a CPU (70,000 points: over 6 minutes on 2 cores,
benchmarks/README.md): a warning names the faster ways."""
"""t-SNE's perplexity must stay below the number of points; with fewer than 7 it would be under 2."""
PRE_REDUCE = 50
"""t-SNE and UMAP run on the first 50 principal components of wider vectors: much faster, the same map."""
THUMBNAIL = 64


@dataclass(kw_only=True)
class VectorMap:
    collection: str
    vector_name: str
    method: str
    params: dict[str, Any]
    colour: str
    """The payload field the points are coloured by."""
    ids: list[str]
    xy: np.ndarray
    """(n, 2) coordinates of the projection."""
    groups: list[str]
    """The colour groups, in legend order."""
    group_of: np.ndarray
    """(n,) each point's index into `groups`."""
    labels: list[str]
    """Each point's label name ("(none)" without one), for captions."""
    thumbnails: dict[int, Image.Image] = field(default_factory=dict, repr=False)
    """Small images of some points, by position, in a random order (the first N are a random N of them)."""
    seconds: float = 0.0

    def save(self, path: str | os.PathLike[str], *, width: int = 1200, height: int = 900, thumbnails: int = 0) -> Path:
        """Draw the map into a `width` x `height` px PNG, with up to `thumbnails` of its images at their points."""
        from embedkit.drawing.maps import save_png  # imports matplotlib: only when a map is drawn

        return save_png(self, path, width=width, height=height, thumbnails=thumbnails)

    def save_html(self, path: str | os.PathLike[str], *, images: int | None = None) -> Path:
        """Write the map as one self-contained HTML page, with its first `images` thumbnails (None: all)."""
        from embedkit.drawing.map_page import save_html

        return save_html(self, path, images=images)


def project(vectors: np.ndarray, method: str = "pca", *, seed: int = 0, perplexity: float | None = None,
            neighbours: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """(n, 2) coordinates of `vectors` by `method`, and the parameters it ran with."""
    if method not in METHODS:
        raise InvalidOptionError(f"unknown map method {method!r}; use one of {', '.join(METHODS)}")
    n = len(vectors)
    if n < MIN_POINTS:
        raise InvalidOptionError(f"a map needs at least {MIN_POINTS} points, got {n}; check --split and --limit")
    from sklearn.decomposition import PCA

    if method == "pca":
        pca = PCA(n_components=2, random_state=seed).fit(vectors)
        return pca.transform(vectors), {"explained_variance": [float(v) for v in pca.explained_variance_ratio_]}
    params: dict[str, Any] = {"seed": seed}
    if vectors.shape[1] > PRE_REDUCE and n > PRE_REDUCE:
        vectors = PCA(n_components=PRE_REDUCE, random_state=seed).fit_transform(vectors)
        params["pca_first"] = PRE_REDUCE
    if method == "tsne":
        return _tsne(vectors, perplexity, seed, params)
    return _umap(vectors, neighbours, seed, params)


def _tsne(vectors: np.ndarray, perplexity: float | None, seed: int, params: dict[str, Any]) -> tuple[np.ndarray, dict]:
    from sklearn.manifold import TSNE

    n = len(vectors)
    if n < TSNE_MIN_POINTS:
        raise InvalidOptionError(f"t-SNE needs at least {TSNE_MIN_POINTS} points, got {n}; use --method pca")
    chosen = perplexity if perplexity is not None else min(30.0, (n - 1) / 3)
    if not 1 <= chosen < n:
        raise InvalidOptionError(f"t-SNE's perplexity must be from 1 to below the number of points ({n}), got "
                                 f"{chosen}; give a smaller one, or map more points")
    if n >= TSNE_SLOW_POINTS:
        log.warning("t-SNE of %d points takes many minutes on a CPU; --method umap, or --limit %d, is faster", n,
                    TSNE_SLOW_POINTS // 2)
    tsne = TSNE(n_components=2, perplexity=chosen, init="pca", metric="cosine", random_state=seed)
    return tsne.fit_transform(vectors), {**params, "perplexity": chosen, "metric": "cosine"}


def _umap(vectors: np.ndarray, neighbours: int | None, seed: int, params: dict[str, Any]) -> tuple[np.ndarray, dict]:
    try:
        import umap
    except ImportError as error:
        raise InvalidOptionError('method umap needs umap-learn: pip install "embedkit[maps]"; or use --method '
                                 'tsne or pca') from error
    n = len(vectors)
    chosen = neighbours if neighbours is not None else min(15, n - 1)
    if not 2 <= chosen < n:
        raise InvalidOptionError(f"UMAP's neighbours must be from 2 to below the number of points ({n}), got {chosen}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(n_jobs|random_state|spectral).*")
        reducer = umap.UMAP(n_components=2, n_neighbors=chosen, metric="cosine", random_state=seed)
        xy = reducer.fit_transform(vectors)
    return np.asarray(xy), {**params, "n_neighbors": chosen, "metric": "cosine"}


def colour_groups(store: Store, collection: str, data: LabelledVectors, colour: str) -> tuple[list[str], np.ndarray]:
    """The groups points are coloured by (the label name, the split, or any payload field such as `cluster`), in
    legend order, and each point's group."""
    if colour == "label":
        keys: list[Any] = data.labels.tolist()
        if all(key == NO_LABEL for key in keys):
            raise InvalidOptionError(f"the points of {collection!r} have no labels to colour by; use --colour split "
                                     f"or --colour cluster (after `embedkit cluster -c {collection} --write`)")
        names = {key: data.label_name(key) for key in set(keys)}
    elif colour == "split":
        keys = [split or "(none)" for split in data.splits]
        names = {key: key for key in set(keys)}
    else:
        values = store.payload_values(collection, data.ids, colour)
        keys = [values.get(sample_id) for sample_id in data.ids]
        if all(key is None for key in keys):
            hint = f"run `embedkit cluster -c {collection} --write` first, or " if colour == "cluster" else ""
            raise InvalidOptionError(f"no point of {collection!r} has the payload field {colour!r} to colour by; "
                                     f"{hint}use --colour label or split")
        keys = [key if isinstance(key, (int, str)) or key is None else str(key) for key in keys]
        names = {key: "(none)" if key is None else "noise" if key == NOISE else str(key) for key in set(keys)}
    order = sorted(names, key=_legend_order)
    index = {key: position for position, key in enumerate(order)}
    return [names[key] for key in order], np.asarray([index[key] for key in keys], dtype=np.int64)


def _legend_order(key: Any) -> tuple[bool, bool, Any]:
    """Numbers in order, then texts; a point without a value, or noise, last."""
    missing = key is None or key == NOISE or key == "(none)"
    return missing, not isinstance(key, int), key if isinstance(key, int) else str(key)


def load_thumbnails(store: Store, collection: str, data: LabelledVectors, positions: np.ndarray,
                    side: int = THUMBNAIL) -> dict[int, Image.Image]:
    """Small images of the points at `positions`, found as search grids find them (the payload `source`, or the
    sample in its dataset); points whose image cannot be found are left out."""
    from embedkit.drawing.grid import fit, hit_images

    ids = [data.ids[i] for i in positions]
    datasets = store.payload_values(collection, ids, "dataset")
    hits = [Hit(data.ids[i], 0.0, {"source": data.sources[i] if data.sources else "", "split": data.splits[i]
                                   if data.splits else None, "dataset": datasets.get(data.ids[i])})
            for i in positions]
    found = {int(i): fit(image, side) for i, image in zip(positions, hit_images(hits)) if image is not None}
    if len(found) < len(hits):
        log.warning("%d of %d thumbnails not found (their source files moved, or their dataset is not on this "
                    "machine)", len(hits) - len(found), len(hits))
    return found


def map_collection(
    store: Store | str | os.PathLike[str] | None,
    collection: str,
    *,
    vector: str | None = None,
    method: str = "pca",
    colour: str = "label",
    split: str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    thumbnails: int = 0,
    seed: int = 0,
    perplexity: float | None = None,
) -> VectorMap:
    """A 2-D map of the stored vectors of `vector` (None: the default one) of `collection`, coloured by `colour`
    (label, split, or a payload field such as cluster), with the images of `thumbnails` random points. `store` is a
    Store, or where one is (None: the default store). No image is encoded; `save` and `save_html` draw the map. `limit` takes the first N
    points (in sample-id order), `sample` a random N (seeded by `seed`)."""
    started = time.perf_counter()
    if method not in METHODS:
        raise InvalidOptionError(f"unknown map method {method!r}; use one of {', '.join(METHODS)}")
    with using_store(store) as target:
        vector_name, data = read_points(target, collection, vector, split, limit, seed, sample)
        groups, group_of = colour_groups(target, collection, data, colour)
        xy, params = project(data.vectors, method, seed=seed, perplexity=perplexity)
        picked = np.random.default_rng(seed).permutation(len(data.ids))[: max(0, thumbnails)]
        images = load_thumbnails(target, collection, data, picked) if len(picked) else {}
    labels = [data.label_name(label) for label in data.labels.tolist()]
    log.info("mapped %d points of %s/%s with %s in %.1f s", len(data.ids), collection, vector_name, method,
             time.perf_counter() - started)
    return VectorMap(collection=collection, vector_name=vector_name, method=method, params=params, colour=colour,
                     ids=data.ids, xy=np.asarray(xy, dtype=np.float64), groups=groups, group_of=group_of,
                     labels=labels, thumbnails=images, seconds=time.perf_counter() - started)
