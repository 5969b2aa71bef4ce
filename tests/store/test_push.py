"""Push copies a collection to another store with what it records: its default vector, its datasets and the
payload fields indexed on request."""

from __future__ import annotations

from click.testing import CliRunner

from embedkit.cli import main
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.photos import make_photo_folder


def test_push_copies_the_default_vector_and_the_datasets(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = str(tmp_path / "store")
    ingest(f"folder:{folder}", "vgg16.random", image_size=32, store=store, workers=0)
    ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, store=store, workers=0)
    with open_store(store) as opened:  # a field `embedkit cluster` would write, and index
        opened.set_payloads("folder-photos", {i: {"cluster": n % 2} for n, i in
                                              enumerate(opened.stored_ids("folder-photos", "vgg16.random-32px"))})
        opened.index_field("folder-photos", "cluster", "integer")
    assert CliRunner().invoke(main, ["push", "-c", "folder-photos", "--to", str(tmp_path / "copy"),
                                     "--qdrant", store]).exit_code == 0
    with open_store(tmp_path / "copy") as copy:
        assert copy.default_vector("folder-photos") == "vgg16.random-32px"
        assert copy.datasets("folder-photos") == [f"folder:{folder}"]
        assert copy.indexed_fields("folder-photos")["cluster"] == "integer"


def test_a_push_into_an_embedded_store_leaves_its_index_built_not_flagged_unfinished(tmp_path):
    import numpy as np

    from embedkit.records import VectorRecord
    from embedkit.store.push import push

    with open_store(tmp_path / "source") as source:
        source.ensure_vector("points", "enc", VectorRecord("enc", 4, "image"))
        source.upsert("points", "enc", ["a", "b", "c"], np.eye(4, dtype=np.float32)[:3], [{"split": "all"}] * 3)
        source.optimize("points")
        with open_store(tmp_path / "copy") as copy:
            assert push(source, copy, "points") == {"enc": 3}
    with open_store(tmp_path / "copy") as copy:
        assert copy.index_unfinished("points") is False
        assert copy.count("points") == 3
