"""`embedkit browse`: a page of the points matching a filter (table, JSON, grid), and `search` with only a filter."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from embedkit.cli import main
from embedkit.records import VectorRecord
from embedkit.store import open_store
from tests.cli.test_fuzz import assert_one_error_line


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("browse")
    payloads = []
    for i in range(12):
        path = root / f"photo_{i:02d}.png"
        Image.new("RGB", (24, 16), (i * 20, 90, 40)).save(path)
        payloads.append({"label": i % 3, "label_name": ["cat", "dog", "cow"][i % 3], "split": "test",
                         "source": str(path), "cluster": i % 2,
                         "content": None if i % 2 else f"{i}-1700000000-0123abcd",  # ingest's file stamp
                         "label_issue_score": 0.20155115448844285})
    with open_store(root / "store") as opened:
        opened.ensure_vector("toy", "enc", VectorRecord("enc", 4, "image"))
        opened.upsert("toy", "enc", [f"s{i:02d}" for i in range(12)],
                      np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32), payloads)
    return root / "store"


def invoke(store, *args: object):
    return CliRunner().invoke(main, [*map(str, args), "--qdrant", str(store)])


def test_browse_pages_through_the_filtered_points_and_prints_the_next_pages_token(store):
    first = invoke(store, "browse", "-c", "toy", "--filter", "label=1", "--limit", "3")
    assert first.exit_code == 0, first.output
    assert first.stdout.count(" dog ") == 3 and "cat" not in first.stdout
    assert "photo_" in first.stdout and ".png" in first.stdout
    assert "cluster=1" in first.stdout and "content" not in first.stdout and "None" not in first.stdout
    assert "label_issue_score=0.2016" in first.stdout and "0.2015511" not in first.stdout  # --json has every digit
    assert "points 1-3 of 4 matching label=1; next page: --offset " in first.stderr
    token = first.stderr.split("--offset ")[1].split()[0]
    rest = json.loads(invoke(store, "browse", "-c", "toy", "--filter", "label=1", "--offset", token, "--json").stdout)
    assert len(rest["points"]) == 1 and rest["next_offset"] is None and rest["matching"] == 4
    assert rest["points"][0]["payload"]["label_name"] == "dog"


def test_browse_draws_the_page_as_a_grid_png(store, tmp_path):
    result = invoke(store, "browse", "-c", "toy", "--filter", "cluster=1", "-o", tmp_path / "page.png", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["points"]) == 6 and "wrote" in result.stderr
    with Image.open(tmp_path / "page.png") as image:
        assert image.width == 6 * 160


def test_search_with_only_a_filter_lists_the_matching_points_instead_of_refusing(store):
    result = invoke(store, "search", "-c", "toy", "--filter", "cluster=0", "-k", "4", "--json")
    assert result.exit_code == 0, result.output
    points = json.loads(result.stdout)["points"]
    assert len(points) == 4 and all(point["payload"]["cluster"] == 0 for point in points)
    assert "embedkit browse" in result.stderr


def test_search_with_no_query_and_no_filter_points_to_browse(store):
    assert "embedkit browse -c COLLECTION" in assert_one_error_line(invoke(store, "search", "-c", "toy"), 2)


@pytest.mark.parametrize(("args", "says"), [
    (["--offset", "next"], "neither a number of points to skip"),
    (["--filter", "label"], "is not FIELD=VALUE"),
    (["--limit", "0"], "1<=x<=1000"),
    (["-o", "page.txt"], "is not an image file name"),
    (["--limit", "500", "-o", "page.png"], "a grid shows at most 200 points"),
])
def test_a_browse_that_cannot_run_is_one_error_line(store, args, says):
    assert says in assert_one_error_line(invoke(store, "browse", "-c", "toy", *args), 2)


def test_browsing_a_missing_collection_is_one_error_line(store):
    assert "collection 'nope' does not exist" in assert_one_error_line(invoke(store, "browse", "-c", "nope"), 2)
