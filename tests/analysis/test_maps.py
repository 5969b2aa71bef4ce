"""Maps of stored vectors: projections that keep the groups apart, coloured by label, split or cluster."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from embedkit.analysis.cluster import cluster_collection
from embedkit.analysis.maps import map_collection, project
from embedkit.errors import InvalidOptionError

def separation(xy: np.ndarray, groups: np.ndarray) -> float:
    """How far apart the groups' centres are, against how far their points spread (higher: better separated)."""
    centres = np.array([xy[groups == g].mean(0) for g in np.unique(groups)])
    spread = np.mean([np.linalg.norm(xy[groups == g] - centres[i], axis=1).mean()
                      for i, g in enumerate(np.unique(groups))])
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(centres) for b in centres[i + 1 :]]
    return float(min(gaps) / spread)


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_a_map_places_each_stored_point_and_keeps_the_colours_apart_without_encoding(ingested, method):
    location, encoder = ingested
    seen = encoder.images_seen
    vector_map = map_collection(location, "shapes", method=method)
    assert encoder.images_seen == seen
    assert vector_map.xy.shape == (36, 2) and np.isfinite(vector_map.xy).all()
    assert sorted(vector_map.groups) == ["blue", "green", "red"]
    assert np.bincount(vector_map.group_of).tolist() == [12, 12, 12]
    assert separation(vector_map.xy, vector_map.group_of) > 1.5
    assert vector_map.thumbnails == {}


def test_umap_maps_the_points_when_umap_learn_is_installed(ingested):
    pytest.importorskip("umap")
    vector_map = map_collection(ingested[0], "shapes", method="umap", split="test")
    assert vector_map.xy.shape == (18, 2) and vector_map.params["n_neighbors"] == 15
    assert separation(vector_map.xy, vector_map.group_of) > 1.5


def test_without_umap_learn_the_error_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(InvalidOptionError, match=r'method umap needs umap-learn: pip install "embedkit\[maps\]"'):
        project(np.random.default_rng(0).normal(size=(20, 4)), "umap")


def test_points_are_coloured_by_split_or_by_the_clusters_a_clustering_wrote(location):
    by_split = map_collection(location, "shapes", colour="split")
    assert by_split.groups == ["test", "train"] and np.bincount(by_split.group_of).tolist() == [18, 18]
    cluster_collection(location, "shapes", k=3, write="group")
    by_cluster = map_collection(location, "shapes", colour="group")
    assert by_cluster.groups == ["0", "1", "2"]
    assert by_cluster.labels[0] in ("red", "green", "blue")


@pytest.mark.parametrize(("arguments", "says"), [
    ({"method": "mds"}, "unknown map method 'mds'; use one of pca, tsne, umap"),
    ({"method": "tsne", "limit": 5}, "t-SNE needs at least 7 points, got 5; use --method pca"),
    ({"method": "tsne", "perplexity": 40.0}, "perplexity must be from 1 to below the number of points (36)"),
    ({"limit": 2}, "a map needs at least 3 points, got 2"),
    ({"colour": "cluster"}, "has the payload field 'cluster' to colour by; run `embedkit cluster -c shapes --write` first"),
    ({"colour": "weather"}, "use --colour label or split"),
])
def test_a_map_that_cannot_be_drawn_is_refused_in_one_line_that_says_what_to_do(ingested, arguments, says):
    with pytest.raises(InvalidOptionError) as refused:
        map_collection(ingested[0], "shapes", **arguments)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_a_map_is_drawn_only_when_saved_as_a_png_or_an_html_page(ingested, tmp_path):
    vector_map = map_collection(ingested[0], "shapes", thumbnails=4)
    assert list(tmp_path.iterdir()) == []
    png = vector_map.save(tmp_path / "map.png", width=640, height=480, thumbnails=2)
    page = vector_map.save_html(tmp_path / "map.html", images=3)
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (640, 480)
    assert page.read_text().count("data:image/jpeg;base64,") == 3
