"""The layout of a new collection (shards, replicas, vectors on disk, quantization) and indexing switched off
during a bulk load: on qdrant-client's local mode, on the embedded store, and on a real Qdrant server when
EMBEDKIT_TEST_QDRANT_URL is set."""

from __future__ import annotations

import json
import logging
import os
import uuid

import httpx
import numpy as np
import pytest
from qdrant_client import models
from qdrant_client.http.exceptions import UnexpectedResponse

from embedkit.errors import InvalidOptionError
from embedkit.records import VectorRecord
from embedkit.store import CollectionOptions, open_store, using_store
from embedkit.store.bulk_load import PAUSED_INDEXING_KEY

ENC_A = VectorRecord("enc-a", 8, weights="w1")
ENC_B = VectorRecord("enc-b", 4, weights="w2")
ENC_WIDE = VectorRecord("enc-wide", 128, weights="w3")  # one bit a dimension tells 300 random points apart
SERVER = os.environ.get("EMBEDKIT_TEST_QDRANT_URL", "")
needs_server = pytest.mark.skipif(not SERVER, reason="set EMBEDKIT_TEST_QDRANT_URL to run against a real Qdrant server")


def fill(store, collection: str = "ds", n: int = 40, record: VectorRecord = ENC_A) -> np.ndarray:
    vectors = np.random.default_rng(0).normal(size=(n, record.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.ensure_vector(collection, record.encoder, record)
    store.upsert(collection, record.encoder, [f"s{i}" for i in range(n)], vectors, [{"label": i % 2} for i in range(n)])
    return vectors


def recording(monkeypatch, client, method: str) -> list[dict]:
    """The keyword arguments of every call of `client.method`, which still runs."""
    calls: list[dict] = []
    real = getattr(client, method)

    def record(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(client, method, record)
    return calls


def thresholds(calls: list[dict]) -> list[int]:
    return [call["optimizers_config"].indexing_threshold for call in calls]


def _too_old(*args, **kwargs):
    raise UnexpectedResponse(404, "Not Found", b"", httpx.Headers())


# ---- the options themselves ---------------------------------------------------------------------
@pytest.mark.parametrize("given, says", [
    ({"shards": 0}, "shards must be a whole number from 1 to 1000, got 0"),
    ({"shards": 1001}, "shards must be a whole number from 1 to 1000, got 1001"),
    ({"shards": True}, "shards must be a whole number from 1 to 1000, got True"),
    ({"shards": 2.5}, "shards must be a whole number from 1 to 1000, got 2.5"),
    ({"replication_factor": 0}, "replication_factor must be a whole number from 1 to 100, got 0"),
    ({"replication_factor": 101}, "replication_factor must be a whole number from 1 to 100, got 101"),
    ({"quantization": "turbo"}, "unknown quantization 'turbo'; use one of scalar, binary, product, or none"),
    ({"on_disk": "yes"}, "on_disk must be True or False, got 'yes'"),
])
def test_an_option_out_of_range_is_refused_in_one_line_before_a_store_opens(given, says, tmp_path):
    with pytest.raises(InvalidOptionError) as refused:
        open_store(f"local:{tmp_path / 'q'}", collection_options=CollectionOptions(**given))
    assert str(refused.value) == says
    assert not (tmp_path / "q").exists()


def test_the_client_arguments_ask_for_what_the_options_say():
    arguments = CollectionOptions(shards=4, replication_factor=2, on_disk=True, quantization="scalar").client_arguments(
        {"enc-a": 8})
    assert arguments["shard_number"] == 4 and arguments["replication_factor"] == 2
    assert arguments["vectors_config"]["enc-a"] == models.VectorParams(size=8, distance=models.Distance.COSINE,
                                                                       on_disk=True)
    assert arguments["quantization_config"] == models.ScalarQuantization(
        scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True))
    binary = CollectionOptions(quantization="binary").client_arguments({"enc-a": 8})
    assert binary["quantization_config"] == models.BinaryQuantization(
        binary=models.BinaryQuantizationConfig(always_ram=True))
    plain = CollectionOptions().client_arguments({"enc-a": 8})
    assert plain["vectors_config"]["enc-a"].on_disk is None
    assert (plain["shard_number"], plain["replication_factor"], plain["quantization_config"]) == (None, None, None)


# ---- qdrant-client's local mode --------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["memory", "local"])
def test_a_new_collection_gets_its_vectors_on_disk_and_is_created_with_the_options(kind, tmp_path, monkeypatch):
    location = ":memory:" if kind == "memory" else f"local:{tmp_path / 'q'}"
    options = CollectionOptions(shards=2, replication_factor=2, on_disk=True, quantization="scalar")
    with open_store(location, collection_options=options) as store:
        created = recording(monkeypatch, store.client, "create_collection")
        vectors = fill(store)
        config = store.client.get_collection("ds").config
        assert config.params.vectors["enc-a"].on_disk is True
        # local mode keeps one shard and no quantization: what it was asked is what reaches the client
        assert (config.params.shard_number, config.params.replication_factor, config.quantization_config) == (
            None, None, None)
        [asked] = created
        assert (asked["shard_number"], asked["replication_factor"]) == (2, 2)
        assert asked["quantization_config"].scalar.type == models.ScalarType.INT8
        assert store.search("ds", "enc-a", vectors[7], 1)[0].sample_id == "s7"


def test_without_options_a_collection_keeps_vectors_in_ram():
    with open_store(":memory:") as store:
        fill(store)
        assert not store.client.get_collection("ds").config.params.vectors["enc-a"].on_disk


def test_options_given_for_an_existing_collection_leave_it_as_it_is(tmp_path, monkeypatch, caplog):
    location = f"local:{tmp_path / 'q'}"
    with open_store(location) as store:
        fill(store)
    caplog.set_level(logging.INFO, logger="embedkit.store")
    with open_store(location, collection_options=CollectionOptions(on_disk=True, quantization="binary")) as store:
        created = recording(monkeypatch, store.client, "create_collection")
        fill(store)
        assert not store.client.get_collection("ds").config.params.vectors["enc-a"].on_disk
        assert created == [] and store.count("ds") == 40
    said = [r.getMessage() for r in caplog.records if "keeps its layout" in r.getMessage()]
    assert said == ["collection ds exists: it keeps its layout, the collection options are not applied"]


def test_a_collection_recreated_to_add_a_vector_keeps_its_vectors_on_disk(monkeypatch):
    with open_store(":memory:", collection_options=CollectionOptions(on_disk=True)) as store:
        vectors = fill(store)
        store.collection_options = None  # the recreation copies the collection, not the store's options
        monkeypatch.setattr(store.client, "create_vector_name", _too_old)
        store.ensure_vector("ds", "enc-b", ENC_B)
        params = store.client.get_collection("ds").config.params.vectors
        assert params["enc-a"].on_disk is True and params["enc-b"].on_disk is True
        assert store.search("ds", "enc-a", vectors[3], 1)[0].sample_id == "s3" and store.count("ds") == 40


def test_using_an_open_store_with_options_applies_them_only_inside(monkeypatch):
    with open_store(":memory:") as store:
        with using_store(store, collection_options=CollectionOptions(on_disk=True)) as same:
            assert same is store
            fill(store, "inside")
        fill(store, "after")
        assert store.collection_options is None
        assert store.client.get_collection("inside").config.params.vectors["enc-a"].on_disk is True
        assert not store.client.get_collection("after").config.params.vectors["enc-a"].on_disk


def test_a_bulk_load_switches_indexing_off_until_optimize(monkeypatch):
    with open_store(":memory:") as store:
        store.ensure_vector("ds", "enc-a", ENC_A)
        updates = recording(monkeypatch, store.client, "update_collection")
        store.begin_bulk_load("ds")
        assert thresholds(updates) == [0]
        assert store.index_unfinished("ds")
        assert store._read_metadata("ds")[PAUSED_INDEXING_KEY] == 20000  # local mode reports Qdrant's default
        fill(store)
        store.optimize("ds")
        assert thresholds(updates) == [0, 20000]
        assert not store.index_unfinished("ds") and PAUSED_INDEXING_KEY not in store._read_metadata("ds")
        store.optimize("ds")
        assert thresholds(updates) == [0, 20000]  # nothing to put back twice


def test_a_bulk_load_killed_before_optimize_gets_indexing_back_on_at_the_next_optimize(tmp_path, monkeypatch):
    location = f"local:{tmp_path / 'q'}"
    with open_store(location) as store:
        store.ensure_vector("ds", "enc-a", ENC_A)
        store.begin_bulk_load("ds")
        fill(store)  # and the process dies: no optimize
    with open_store(location) as store:
        updates = recording(monkeypatch, store.client, "update_collection")
        assert store.index_unfinished("ds")  # what makes the next ingest run optimize
        store.begin_bulk_load("ds")  # the next load finds indexing off: it keeps the value recorded
        assert updates == [] and store._read_metadata("ds")[PAUSED_INDEXING_KEY] == 20000
        store.optimize("ds")
        assert thresholds(updates) == [20000] and not store.index_unfinished("ds")


def test_a_bulk_load_into_a_missing_collection_is_refused_in_one_line():
    with open_store(":memory:") as store:
        with pytest.raises(InvalidOptionError, match=r"^collection 'nope' does not exist in :memory:; create it "
                                                     r"with ensure_vector before a bulk load$"):
            store.begin_bulk_load("nope")


# ---- the embedded store ---------------------------------------------------------------------------
@pytest.mark.parametrize("given", [{"shards": 2}, {"replication_factor": 2}])
def test_the_embedded_store_refuses_shards_and_replicas_in_one_line_and_creates_nothing(given, tmp_path):
    says = r"^shards and replication are for a Qdrant server: pass --qdrant http://HOST:6333 \(.*\)$"
    with pytest.raises(InvalidOptionError, match=says):
        open_store(tmp_path / "edge", collection_options=CollectionOptions(**given))
    assert not (tmp_path / "edge").exists()
    with open_store(tmp_path / "edge") as store:
        with using_store(store, collection_options=CollectionOptions(**given)):
            with pytest.raises(InvalidOptionError, match=says):
                store.ensure_vector("ds", "enc-a", ENC_A)
        assert store.collections() == []
    assert not (tmp_path / "edge").exists()


@pytest.mark.parametrize("quantization, stored", [
    ("scalar", {"scalar": {"type": "int8", "always_ram": True}}),
    ("binary", {"binary": {"always_ram": True}}),
])
def test_the_embedded_store_keeps_vectors_on_disk_quantized_and_still_finds_the_nearest(quantization, stored,
                                                                                        tmp_path):
    options = CollectionOptions(on_disk=True, quantization=quantization)
    with open_store(tmp_path / "edge", collection_options=options) as store:
        vectors = fill(store, n=300, record=ENC_WIDE)
        store.optimize("ds")
        assert store.search("ds", "enc-wide", vectors[123], 1)[0].sample_id == "s123"
    config = json.loads((tmp_path / "edge" / "ds" / "edge_config.json").read_text())
    assert config["vectors"]["enc-wide"]["on_disk"] is True
    assert config["quantization_config"] == stored
    with open_store(tmp_path / "edge") as reopened:
        assert reopened.count("ds") == 300


def test_a_bulk_load_changes_nothing_on_the_embedded_store(tmp_path):
    with open_store(tmp_path / "edge") as store:
        store.ensure_vector("ds", "enc-a", ENC_A)
        before = store._read_metadata("ds")
        store.begin_bulk_load("ds")
        assert store._read_metadata("ds") == before and not store.index_unfinished("ds")
        fill(store)
        assert store.index_unfinished("ds")  # the embedded store's own record, cleared by its index build
        store.optimize("ds")
        assert not store.index_unfinished("ds")


# ---- a real Qdrant server ---------------------------------------------------------------------------
@pytest.fixture
def server_name():
    name = f"t{uuid.uuid4().hex[:8]}-ds"
    yield name
    with open_store(SERVER) as store:
        if store.client.collection_exists(name):
            store.drop(name)


@needs_server
@pytest.mark.parametrize("quantization", ["scalar", "binary"])
def test_a_server_collection_is_created_with_the_shards_storage_and_quantization_asked(quantization, server_name):
    options = CollectionOptions(shards=2, replication_factor=1, on_disk=True, quantization=quantization)
    with open_store(SERVER, collection_options=options) as store:
        vectors = fill(store, server_name, record=ENC_WIDE)
        config = store.client.get_collection(server_name).config
        assert (config.params.shard_number, config.params.replication_factor) == (2, 1)
        assert config.params.vectors["enc-wide"].on_disk is True
        if quantization == "scalar":
            assert config.quantization_config.scalar.type == models.ScalarType.INT8
            assert config.quantization_config.scalar.always_ram is True
        else:
            assert config.quantization_config.binary.always_ram is True
        assert store.search(server_name, "enc-wide", vectors[5], 1)[0].sample_id == "s5"


@needs_server
def test_a_server_collection_recreated_to_add_a_vector_keeps_its_layout(server_name, monkeypatch):
    options = CollectionOptions(shards=2, on_disk=True, quantization="scalar")
    with open_store(SERVER, collection_options=options) as store:
        fill(store, server_name)
        monkeypatch.setattr(store.client, "create_vector_name", _too_old)
        store.ensure_vector(server_name, "enc-b", ENC_B)
        config = store.client.get_collection(server_name).config
        assert config.params.shard_number == 2 and config.quantization_config.scalar.type == models.ScalarType.INT8
        assert config.params.vectors["enc-a"].on_disk and config.params.vectors["enc-b"].on_disk
        assert store.count(server_name) == 40


@needs_server
def test_a_server_indexes_nothing_during_a_bulk_load_and_again_after_even_when_the_load_died(server_name):
    with open_store(SERVER) as store:
        store.ensure_vector(server_name, "enc-a", ENC_A)
        before = store.client.get_collection(server_name).config.optimizer_config.indexing_threshold
        store.begin_bulk_load(server_name)
        assert store.client.get_collection(server_name).config.optimizer_config.indexing_threshold == 0
        fill(store, server_name)  # and the process dies: no optimize
    with open_store(SERVER) as store:
        assert store.index_unfinished(server_name)
        store.begin_bulk_load(server_name)  # the next load keeps the value the first one recorded
        store.optimize(server_name)
        assert store.client.get_collection(server_name).config.optimizer_config.indexing_threshold == before
        assert not store.index_unfinished(server_name)
