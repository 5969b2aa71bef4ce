"""Search a stored collection: by image, by id, by text, by liked/disliked examples; and its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from embedkit.cli import main
from embedkit.errors import InvalidOptionError, SampleNotFoundError, TextNotSupportedError
from embedkit.ingestion import ingest
from embedkit.retrieval import search
from embedkit.store import open_store
from tests.support.photos import PER_CLASS, make_photo_folder

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def photo_store(tmp_path_factory, photos):
    """The cat/coffee folder ingested with pretrained EfficientNet-Lite0."""
    root = tmp_path_factory.mktemp("search")
    folder = make_photo_folder(root / "photos", photos, corrupt=False)
    ingest(f"folder:{folder}", "efficientnet-lite0", store=root / "store", workers=0, device="cpu")
    return root / "store", folder


def labels(hits):
    return [hit.payload["label_name"] for hit in hits]


def test_a_query_by_id_finds_its_own_class_and_leaves_itself_out(photo_store):
    store, _ = photo_store
    result = search("folder-photos", sample_id="folder/cat/2.jpg", k=PER_CLASS - 1, store=store)
    assert labels(result.hits) == ["cat"] * (PER_CLASS - 1)
    assert "folder/cat/2.jpg" not in [hit.sample_id for hit in result.hits]
    assert result.query_hit.sample_id == "folder/cat/2.jpg"
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True)


def test_a_query_by_image_needs_no_stored_copy(photo_store, photos, tmp_path):
    store, _ = photo_store
    query = tmp_path / "coffee.png"
    photos["coffee"].crop((50, 50, 500, 350)).save(query)
    result = search("folder-photos", encoder="efficientnet-lite0", image=query, k=3, store=store, device="cpu")
    assert labels(result.hits) == ["coffee"] * 3
    assert result.vector_name == "efficientnet_lite0.imagenet1k"


def test_examples_liked_and_disliked_steer_the_results(photo_store):
    store, _ = photo_store
    result = search("folder-photos", like=["folder/coffee/1.jpg"], unlike=["folder/cat/1.jpg"], k=4, store=store)
    assert labels(result.hits) == ["coffee"] * 4
    assert {"folder/coffee/1.jpg", "folder/cat/1.jpg"}.isdisjoint(hit.sample_id for hit in result.hits)


def test_a_filter_restricts_the_results(photo_store):
    store, _ = photo_store
    result = search("folder-photos", sample_id="folder/cat/0.jpg", k=3, store=store, filter={"label_name": "coffee"})
    assert labels(result.hits) == ["coffee"] * 3


def test_bad_queries_are_clear_errors(photo_store):
    store, _ = photo_store
    with pytest.raises(TextNotSupportedError, match="images only"):
        search("folder-photos", encoder="efficientnet-lite0", text="a cat", store=store, device="cpu")
    with pytest.raises(InvalidOptionError, match="exactly one query"):
        search("folder-photos", sample_id="folder/cat/0.jpg", text="a cat", store=store)
    with pytest.raises(SampleNotFoundError, match="folder/cat/99.jpg"):
        search("folder-photos", sample_id="folder/cat/99.jpg", store=store)
    with pytest.raises(InvalidOptionError, match="has no vector 'resnet50' \\(it has: efficientnet_lite0"):
        search("folder-photos", encoder="resnet50", sample_id="folder/cat/0.jpg", store=store)
    with pytest.raises(InvalidOptionError, match="does not exist"):
        search("no-such-collection", sample_id="x", store=store)


def test_cli_search_renders_a_table_json_and_a_grid(photo_store, tmp_path):
    store, _ = photo_store
    runner = CliRunner()
    base = ["search", "-c", "folder-photos", "--id", "folder/coffee/0.jpg", "-k", "3", "--qdrant", str(store)]
    table = runner.invoke(main, base)
    assert table.exit_code == 0, table.output
    assert "folder/coffee/" in table.output and "coffee" in table.output

    as_json = runner.invoke(main, [*base, "--json"])
    hits = json.loads(as_json.output)["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3] and all(h["payload"]["label_name"] == "coffee" for h in hits)

    grid = tmp_path / "grid.png"
    drawn = runner.invoke(main, [*base, "--grid", str(grid)])
    assert drawn.exit_code == 0
    sheet = Image.open(grid)
    assert sheet.width == 4 * 160
    # the query cell holds a picture, not the empty placeholder
    assert np.asarray(sheet.crop((10, 10, 150, 150))).std() > 10
    assert f"wrote {grid}" in drawn.stderr and "folder-photos / efficientnet_lite0.imagenet1k: sample_id" in table.output

    liked = tmp_path / "liked.png"
    by_examples = runner.invoke(main, ["search", "-c", "folder-photos", "--like", "folder/cat/1.jpg", "--unlike",
                                       "folder/coffee/1.jpg", "-k", "3", "--qdrant", str(store), "--grid", str(liked)])
    assert by_examples.exit_code == 0, by_examples.output
    assert np.asarray(Image.open(liked).crop((10, 10, 150, 150))).std() > 10  # the liked example, not a blank

    bad = runner.invoke(main, ["search", "-c", "folder-photos", "--qdrant", str(store), "--filter", "label"])
    assert bad.exit_code == 2 and "FIELD=VALUE" in bad.output


@pytest.mark.skipif(not FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_sneakers_find_sneakers(tmp_path):
    report = ingest("fashion-mnist", "efficientnet-lite0", split="test", limit=600, store=tmp_path / "store",
                    device="cpu", batch_size=100, workers=2)
    assert report.stored == 600
    with open_store(tmp_path / "store") as store:
        sneakers = [sample_id for batch_ids, _, payloads in store.iter_points("fashion-mnist", [report.vector_name])
                    for sample_id, payload in zip(batch_ids, payloads) if payload["label_name"] == "Sneaker"]
    assert len(sneakers) >= 20
    result = search("fashion-mnist", sample_id=sneakers[0], k=10, store=tmp_path / "store")
    assert labels(result.hits).count("Sneaker") >= 6


def test_a_filter_that_matches_nothing_says_so(photo_store):
    store, _ = photo_store
    for bad in ({"label_name": "Coffee"}, {"label": "1"}, {"colour": "red"}):
        with pytest.raises(InvalidOptionError, match="no point of collection 'folder-photos' has"):
            search("folder-photos", sample_id="folder/cat/1.jpg", filter=bad, store=store)
    assert search("folder-photos", sample_id="folder/cat/1.jpg", filter={"label_name": "coffee"}, k=2, store=store).hits
