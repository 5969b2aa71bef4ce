"""Maps of stored vectors: projections, a PNG of the asked size, and a self-contained interactive HTML page."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embedkit.analysis.cluster import cluster_collection
from embedkit.analysis.map_page import DATA_ELEMENT, save_html
from embedkit.analysis.maps import MAX_LEGEND, VectorMap, draw_map, map_collection, project, save_png
from embedkit.errors import InvalidOptionError

HARNESS = Path(__file__).parents[1] / "support" / "map_page_harness.js"


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
    cluster_collection(location, "shapes", k=3, field="group")
    by_cluster = map_collection(location, "shapes", colour="group")
    assert by_cluster.groups == ["0", "1", "2"]
    assert by_cluster.labels[0] in ("red", "green", "blue")


@pytest.mark.parametrize(("arguments", "says"), [
    ({"method": "mds"}, "unknown map method 'mds'; use one of pca, tsne, umap"),
    ({"method": "tsne", "limit": 5}, "t-SNE needs at least 7 points, got 5; use --method pca"),
    ({"method": "tsne", "perplexity": 40.0}, "perplexity must be from 1 to below the number of points (36)"),
    ({"limit": 2}, "a map needs at least 3 points, got 2"),
    ({"colour": "cluster"}, "has the payload field 'cluster' to colour by; run `embedkit cluster -c shapes` first"),
    ({"colour": "weather"}, "use --colour label or split"),
])
def test_a_map_that_cannot_be_drawn_is_refused_in_one_line_that_says_what_to_do(ingested, arguments, says):
    with pytest.raises(InvalidOptionError) as refused:
        map_collection(ingested[0], "shapes", **arguments)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_the_png_is_an_image_of_the_asked_size_with_the_points_drawn(ingested, tmp_path):
    vector_map = map_collection(ingested[0], "shapes")
    path = save_png(vector_map, tmp_path / "map.png", width=640, height=480)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (640, 480)
        colours = image.convert("RGB").getcolors(maxcolors=640 * 480)
    assert len(colours) > 20  # points, legend and text, not a blank canvas
    assert draw_map(vector_map).axes[0].get_legend() is not None


def test_thumbnails_are_found_from_the_payload_source_and_drawn_on_the_png(ingested, tmp_path):
    vector_map = map_collection(ingested[0], "shapes", thumbnails=10)
    assert len(vector_map.thumbnails) == 10
    assert all(max(image.size) == 64 for image in vector_map.thumbnails.values())
    plain = np.asarray(Image.open(save_png(vector_map, tmp_path / "plain.png")))
    drawn = np.asarray(Image.open(save_png(vector_map, tmp_path / "thumbs.png", thumbnails=5)))
    assert plain.shape == drawn.shape and (plain != drawn).any(axis=-1).mean() > 0.005


def test_more_groups_than_a_legend_holds_get_a_note_instead(tmp_path):
    count = MAX_LEGEND + 5
    rng = np.random.default_rng(0)
    vector_map = VectorMap("many", "enc", "pca", {}, "label", [f"s{i}" for i in range(100)], rng.normal(size=(100, 2)),
                           [f"class {g}" for g in range(count)], np.arange(100) % count, ["x"] * 100)
    figure = draw_map(vector_map, width=800, height=600)
    assert figure.axes[0].get_legend() is None
    assert "too many for a legend" in figure.axes[0].get_title(loc="left")
    with Image.open(save_png(vector_map, tmp_path / "many.png", width=800, height=600)) as image:
        assert image.size == (800, 600)


class Elements(HTMLParser):
    """Every tag's attributes, and the text of the data element."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.data = ""
        self._in_data = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_data = dict(attrs).get("id") == DATA_ELEMENT

    def handle_data(self, data):
        if self._in_data:
            self.data += data

    def handle_endtag(self, tag):
        self._in_data = False


def test_the_html_page_holds_every_point_and_embeds_its_images_with_nothing_fetched(ingested, tmp_path):
    vector_map = map_collection(ingested[0], "shapes", method="tsne", thumbnails=12)
    text = save_html(vector_map, tmp_path / "map.html").read_text()
    page = Elements()
    page.feed(text)
    data = json.loads(page.data)
    assert sorted(data["id"]) == sorted(vector_map.ids) and len(data["x"]) == len(data["y"]) == 36
    assert all(0 <= v <= 1 for v in data["x"] + data["y"])
    assert [g["name"] for g in data["groups"]] == vector_map.groups and sum(g["count"] for g in data["groups"]) == 36
    assert {data["label_names"][i] for i in data["label"]} == {"red", "green", "blue"}
    assert len(data["images"]) == 12 and sum(i >= 0 for i in data["image"]) == 12
    assert all(uri.startswith("data:image/jpeg;base64,") for uri in data["images"])
    for tag, attributes in page.tags:
        assert not any(key in ("src", "href") for key in attributes), (tag, attributes)
    assert "http://" not in text and "https://" not in text and "<link" not in text
    fewer = save_html(vector_map, tmp_path / "fewer.html", images=3).read_text()
    assert fewer.count("data:image/jpeg;base64,") == 3 and len(fewer) < len(text)


def test_hovering_a_point_on_the_html_page_shows_its_image_id_and_label(ingested, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node runs the page's script against a stub DOM")
    vector_map = map_collection(ingested[0], "shapes", thumbnails=5, colour="split")
    page = save_html(vector_map, tmp_path / "map.html")
    result = subprocess.run([node, str(HARNESS), str(page), DATA_ELEMENT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["display"] == "block" and shown["src"].startswith("data:image/jpeg;base64,")
    assert shown["legend"] == 2 and shown["text"].startswith("manifest/img/")
    assert any(colour in shown["text"] for colour in ("red", "green", "blue")) and "(split t" in shown["text"]


def test_names_that_look_like_markup_stay_data_on_the_html_page(tmp_path):
    names = ["</script><script>alert(1)</script>", "<!-- a & b -->"]
    vector_map = VectorMap("odd", "enc", "pca", {}, "label", ["a", "b", "c"], np.eye(3)[:, :2], names,
                           np.array([0, 1, 1]), [names[0], names[1], names[1]])
    text = save_html(vector_map, tmp_path / "odd.html").read_text()
    page = Elements()
    page.feed(text)
    data = json.loads(page.data)
    assert [g["name"] for g in data["groups"]] == names and data["label_names"] == sorted(names)
    assert [tag for tag, _ in page.tags].count("script") == 2
