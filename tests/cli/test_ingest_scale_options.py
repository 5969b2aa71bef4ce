"""`embedkit ingest --ray [ADDRESS]` and the collection options of a new collection: what reaches the Python API,
and the one-line refusals (the ray extra missing, shards asked of the embedded store)."""

from __future__ import annotations

import sys

import pytest

from embedkit.ingestion import IngestReport
from embedkit.store import CollectionOptions
from tests.support.photos import make_photo_folder


@pytest.fixture
def folder(tmp_path, photos):
    return make_photo_folder(tmp_path / "photos", photos, corrupt=False)


@pytest.fixture
def ingested(monkeypatch) -> list[dict]:
    """What the command passed to the Python API's ingest, one dict per call."""
    calls = []

    def ingest(dataset, encoder, **kwargs):
        calls.append(kwargs)
        return IngestReport("photos", encoder.vector_name, "photos", None, 0, 0, 0, [], 0.1)

    monkeypatch.setattr("embedkit.ingestion.ingest", ingest)
    return calls


ENCODER = ("-e", "mobilenet_v2.random", "--image-size", "32")


def test_ray_alone_runs_on_a_local_cluster_and_with_an_address_on_that_one(run, folder, tmp_path, ingested,
                                                                          monkeypatch):
    monkeypatch.setattr("embedkit.ingestion.ray.prepare_ray", lambda options: None)  # no cluster at ray://head
    store = ("--qdrant", tmp_path / "store")
    assert run("ingest", f"folder:{folder}", *ENCODER, *store).exit_code == 0
    assert run("ingest", f"folder:{folder}", *ENCODER, *store, "--ray").exit_code == 0
    assert run("ingest", f"folder:{folder}", *ENCODER, *store, "--ray", "ray://head:10001", "--ray-actors", "3",
               "--ray-batch-size", "16").exit_code == 0
    without, local, remote = (call["options"].ray for call in ingested)
    assert without is None
    assert local.address is None and local.actors == 1 and local.batch_size is None
    assert remote.address == "ray://head:10001" and remote.actors == 3 and remote.batch_size == 16


def test_collection_options_reach_ingest_only_when_given(run, folder, tmp_path, ingested):
    store = ("--qdrant", tmp_path / "store")
    assert run("ingest", f"folder:{folder}", *ENCODER, *store).exit_code == 0
    assert run("ingest", f"folder:{folder}", *ENCODER, *store, "--on-disk", "--quantization", "scalar").exit_code == 0
    assert ingested[0]["options"].collection_options is None
    assert ingested[1]["options"].collection_options == CollectionOptions(on_disk=True, quantization="scalar")


def test_ray_without_the_extra_is_refused_in_one_line_naming_it(run, folder, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if `pip install "embedkit[ray]"` had not been run
    result = run("ingest", f"folder:{folder}", *ENCODER, "--qdrant", tmp_path / "store", "--ray")
    assert result.exit_code == 2
    assert 'pip install "embedkit[ray]"' in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "store").exists()


def test_shards_on_the_embedded_store_are_refused_before_anything_is_written(run, folder, tmp_path):
    result = run("ingest", f"folder:{folder}", *ENCODER, "--qdrant", tmp_path / "store", "--shards", "2")
    assert result.exit_code == 2
    assert "Qdrant server" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "store" / "photos").exists()


@pytest.mark.parametrize("address, code, message", [
    ("garbage", 2, "is not auto, HOST:PORT"),
    ("ray://127.0.0.1:1", 1, "nothing answers at the Ray address ray://127.0.0.1:1"),
])
def test_a_ray_address_that_is_malformed_or_silent_is_refused_before_the_store_is_touched(run, folder, tmp_path,
                                                                                          address, code, message):
    pytest.importorskip("ray")
    result = run("ingest", f"folder:{folder}", *ENCODER, "--qdrant", tmp_path / "store", "--ray", address)
    assert result.exit_code == code and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "store").exists()
