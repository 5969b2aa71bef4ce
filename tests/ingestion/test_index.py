"""A run stopped before the index build leaves it unfinished: the next ingest (or `collections index`) builds
it, even with nothing left to store."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.encoders import get_encoder
from embedkit.ingestion import ingest
from embedkit.records import VectorRecord
from embedkit.store import open_store
from embedkit.store.edge.store import EdgeStore
from tests.support.photos import PER_CLASS, make_photo_folder


@pytest.fixture
def builds(monkeypatch):
    """The collections whose index was built, in order."""
    built: list[str] = []
    real = EdgeStore._build_index
    monkeypatch.setattr(EdgeStore, "_build_index", lambda self, name: built.append(name) or real(self, name))
    return built


def test_a_run_stopped_before_its_index_build_is_finished_by_the_next(tmp_path, photos, builds, monkeypatch):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    encoder = get_encoder("mobilenet_v2.random", image_size=64, device="cpu")

    def killed(self, name):
        raise SystemExit(137)  # as a kill -9 during the build: nothing after it runs

    with monkeypatch.context() as patched:
        patched.setattr(EdgeStore, "_build_index", killed)
        with pytest.raises(SystemExit):
            ingest(f"folder:{folder}", encoder, store=store, workers=0)
    with open_store(store) as opened:
        assert opened.index_unfinished("folder-photos") and opened.count("folder-photos") == 2 * PER_CLASS
    again = ingest(f"folder:{folder}", encoder, store=store, workers=0)
    assert again.stored == 0 and again.already_stored == 2 * PER_CLASS and builds == ["folder-photos"]
    with open_store(store) as opened:
        assert not opened.index_unfinished("folder-photos")
    ingest(f"folder:{folder}", encoder, store=store, workers=0)
    assert builds == ["folder-photos"]  # built once: a finished index is not built again


def test_the_index_command_builds_it_and_the_listing_says_when_it_is_unfinished(tmp_path, builds):
    store = tmp_path / "store"
    with open_store(store) as opened:
        opened.ensure_vector("c", "v", VectorRecord("v", 4))
        opened.upsert("c", "v", ["a", "b"], np.eye(2, 4, dtype=np.float32), [{}, {}])
    runner = CliRunner()
    listed = runner.invoke(main, ["collections", "--qdrant", str(store)])
    assert "c: points were written after its index was last built" in " ".join(listed.output.split())
    assert json.loads(runner.invoke(main, ["collections", "--qdrant", str(store), "--json"]).stdout)[0][
        "index_unfinished"] is True
    built = runner.invoke(main, ["collections", "index", "c", "--qdrant", str(store), "--json"])
    assert built.exit_code == 0, built.output
    assert json.loads(built.stdout)["points"] == 2 and builds == ["c"]
    assert "index was built" not in runner.invoke(main, ["collections", "--qdrant", str(store)]).output
    missing = runner.invoke(main, ["collections", "index", "nope", "--qdrant", str(store)])
    assert missing.exit_code != 0 and "collection 'nope' does not exist" in missing.output


def test_an_ingest_into_a_server_loads_without_indexing_and_an_interrupted_one_turns_indexing_on_next_time(
        tmp_path, photos, monkeypatch):
    from embedkit.store.bulk_load import PAUSED_INDEXING_KEY
    from embedkit.store.client.store import ClientStore

    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    location = f"local:{tmp_path / 'server'}"
    thresholds: list[int] = []  # qdrant-client's local mode takes a server's indexing settings and ignores them
    real = ClientStore._set_indexing_threshold
    monkeypatch.setattr(ClientStore, "_set_indexing_threshold",
                        lambda self, name, kilobytes: thresholds.append(kilobytes) or real(self, name, kilobytes))

    def stop(state):
        if state.encoded:
            raise KeyboardInterrupt

    first = ingest(f"folder:{folder}", "mobilenet_v2.random", store=location, image_size=32, batch_size=4,
                   workers=0, progress=stop)
    assert first.interrupted and thresholds == [0]
    with open_store(location) as store:
        paused = store._read_metadata(first.collection)[PAUSED_INDEXING_KEY]
        assert paused > 0 and store.index_unfinished(first.collection)
    rest = ingest(f"folder:{folder}", "mobilenet_v2.random", store=location, image_size=32, workers=0)
    assert rest.stored + first.stored == 2 * PER_CLASS
    assert thresholds == [0, paused]  # the paused load's value back, not switched off again
    with open_store(location) as store:
        assert PAUSED_INDEXING_KEY not in store._read_metadata(rest.collection)
        assert not store.index_unfinished(rest.collection)
