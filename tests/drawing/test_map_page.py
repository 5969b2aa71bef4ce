"""A map drawn as one self-contained HTML page: every point, its images inline, nothing fetched, hover works."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from embedkit.analysis.maps import VectorMap, map_collection
from embedkit.drawing.map_page import DATA_ELEMENT, save_html

HARNESS = Path(__file__).parents[1] / "support" / "map_page_harness.js"


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
    vector_map = VectorMap(collection="odd", vector_name="enc", method="pca", params={}, colour="label",
                           ids=["a", "b", "c"], xy=np.eye(3)[:, :2], groups=names, group_of=np.array([0, 1, 1]),
                           labels=[names[0], names[1], names[1]])
    text = save_html(vector_map, tmp_path / "odd.html").read_text()
    page = Elements()
    page.feed(text)
    data = json.loads(page.data)
    assert [g["name"] for g in data["groups"]] == names and data["label_names"] == sorted(names)
    assert [tag for tag, _ in page.tags].count("script") == 2


def test_hover_picks_the_nearest_dot_with_an_image_over_a_nearer_one_without(tmp_path):
    from PIL import Image

    node = shutil.which("node")
    if node is None:
        pytest.skip("node runs the page's script against a stub DOM")
    # on a 900 px canvas, b (with an image) lies 2 px from a (without); c is far away and gives the scale
    xy = np.array([[0.5, 0.5], [0.5 + 2 / 876, 0.5], [1.0, 1.0], [0.0, 0.0]])
    vector_map = VectorMap(collection="dense", vector_name="enc", method="pca", params={}, colour="label",
                           ids=["a", "b", "c", "d"], xy=xy, groups=["x"], group_of=np.zeros(4, dtype=int),
                           labels=["x"] * 4, thumbnails={1: Image.new("RGB", (8, 8), "red")})
    page = save_html(vector_map, tmp_path / "dense.html")
    result = subprocess.run([node, str(HARNESS), str(page), DATA_ELEMENT, "0"], capture_output=True, text=True,
                            timeout=60)  # the hover at a's own centre
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["text"].startswith("b ") and shown["src"].startswith("data:image/jpeg;base64,")
    far = subprocess.run([node, str(HARNESS), str(page), DATA_ELEMENT, "2"], capture_output=True, text=True, timeout=60)
    assert json.loads(far.stdout)["text"].startswith("c ")  # no image within reach: the nearest dot
