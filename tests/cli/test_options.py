"""The shared options reach a command as one record each, and the commands pass them on as before."""

from __future__ import annotations

import json
import logging

import pytest

from embedkit.cli.options import EncoderChoice, StoreLocation
from embedkit.encoders import precision
from embedkit.encoders.precision import forget_choices
from embedkit.retrieval import SearchResult
from tests.support.photos import make_photo_folder


def test_only_the_encoder_options_given_are_passed_on():
    choice = EncoderChoice("vgg16", device="cpu", layer="fc2")
    assert choice.variant_options() == {"layer": "fc2"}
    assert choice.options() == {"device": "cpu", "precision": "auto", "layer": "fc2"}


def test_the_precision_is_auto_by_default_said_in_a_line_and_in_the_json_of_embed_and_ingest(run, photos, photo_files,
                                                                                           tmp_path, caplog,
                                                                                           monkeypatch):
    monkeypatch.delenv(precision.PRECISION_VARIABLE)  # auto as a user without it sees it
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    common = ("-e", "mobilenet_v2.random", "--image-size", "32", "--device", "cpu")
    forget_choices()  # said once a process: this test's commands say it again
    said = logging.getLogger("embedkit.encoders.precision")
    level = said.level
    said.setLevel(logging.NOTSET)  # as before any command ran: the command itself lets its INFO line through
    try:
        embedded = run("embed", photo_files["cat"], *common, "--json")
        ingested = run("ingest", f"folder:{folder}", *common, "--qdrant", tmp_path / "store", "--workers", 0, "--json")
    finally:
        said.setLevel(level)
    assert embedded.exit_code == ingested.exit_code == 0, embedded.output + ingested.output
    for document in (json.loads(embedded.stdout), json.loads(ingested.stdout)):
        choice = document["precision_choice"]
        assert (choice["asked"], choice["precision"]) == ("auto", "fp32") and "emulates bf16" in choice["reason"]
    lines = [r.getMessage() for r in caplog.records if r.name == "embedkit.encoders.precision"]
    assert lines and lines[0].startswith("precision auto -> fp32: ")


def test_an_encoder_choice_builds_the_encoder_it_names():
    encoder = EncoderChoice("mobilenet_v2", weights="random", device="cpu", image_size=32).build()
    assert encoder.dim == 1280 and "32px" in encoder.vector_name


def test_a_store_location_opens_a_store_that_closes_in_a_with_block(tmp_path):
    with StoreLocation(str(tmp_path / "store")).open() as store:
        assert store.collections() == []


@pytest.fixture
def searched(monkeypatch) -> list[dict]:
    """What `embedkit search` passed to the Python API's search, one dict per call."""
    calls = []

    def search(collection, **kwargs):
        calls.append(kwargs)
        return SearchResult(collection, "v", {}, [])

    monkeypatch.setattr("embedkit.retrieval.search", search)  # what the command imports when it runs
    return calls


def test_a_search_by_image_needs_no_encoder_and_embeds_with_the_device_and_precision_given(run, searched, tmp_path,
                                                                                          photo_files):
    result = run("search", "-c", "photos", "--image", photo_files["cat"], "--device", "cpu", "--precision", "bf16",
                 "--qdrant", tmp_path / "store")
    assert result.exit_code == 0, result.output
    (call,) = searched
    assert call["encoder"] is None and call["image"] == photo_files["cat"]
    assert call["device"] == "cpu" and call["precision"] == "bf16"
    assert not {"weights", "layer", "image_size"} & set(call)


def test_a_search_by_id_passes_only_the_options_that_pick_the_vector(run, searched, tmp_path):
    result = run("search", "-c", "photos", "--id", "test/1", "-e", "vgg16", "--layer", "fc2", "--like", "x",
                 "--qdrant", tmp_path / "store")
    assert result.exit_code == 0, result.output
    (call,) = searched
    assert call["encoder"] == "vgg16" and call["sample_id"] == "test/1" and call["like"] == ("x",)
    assert call["layer"] == "fc2" and "device" not in call and "precision" not in call


@pytest.fixture
def benched(monkeypatch) -> list[dict]:
    calls = []

    def bench(datasets, encoders, **kwargs):
        calls.append({"datasets": datasets, "encoders": encoders, **kwargs})
        return [], []

    monkeypatch.setattr("embedkit.bench.run.bench", bench)
    return calls


def test_bench_passes_the_query_and_gallery_splits_only_for_the_split_protocol(run, benched, tmp_path):
    common = ("--qdrant", tmp_path / "store", "--out-dir", tmp_path / "out")
    assert run("bench", "-d", "a,b", "-e", "mobilenet_v2", "--split", "test", "--weights", "random",
               *common).exit_code == 0
    assert run("bench", "--protocol", "split", "--device", "cpu", *common).exit_code == 0
    leave_one_out, split = benched
    assert leave_one_out["datasets"] == ["a", "b"] and leave_one_out["encoders"] == ["mobilenet_v2"]
    query = leave_one_out["query"]
    assert (query.split, query.query_split, query.gallery_split) == ("test", None, None)
    assert leave_one_out["weights"] == "random" and leave_one_out["device"] == "auto"
    query = split["query"]
    assert (query.protocol, query.query_split, query.gallery_split) == ("split", "test", "train")
    assert split["device"] == "cpu" and "weights" not in split
