"""The store commands: `collections` (list, drop), `export` and `push`, after an ingest; their --json, and the
store option after the subcommand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.photos import PER_CLASS, make_photo_folder


def test_cli_ingest_then_collections_export_and_push(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos)
    store = tmp_path / "store"
    runner = CliRunner()
    common = ["--encoder", "mobilenet_v2.random", "--image-size", "64", "--qdrant", str(store)]
    first = runner.invoke(main, ["ingest", f"folder:{folder}", *common, "--workers", "0", "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)  # progress goes to stderr
    assert summary["stored"] == 2 * PER_CLASS and summary["failures"][0]["sample_id"] == "folder/cat/broken.jpg"

    again = runner.invoke(main, ["ingest", f"folder:{folder}", *common, "--workers", "0"])
    assert again.exit_code == 0 and "stored 0" in again.output and f"already there {2 * PER_CLASS}" in again.output

    listed = json.loads(runner.invoke(main, ["collections", "--qdrant", str(store), "--json"]).output)
    assert listed == [{"name": "folder-photos", "points": 2 * PER_CLASS, "default_vector": "mobilenet_v2.random-64px",
                       "index_unfinished": False, "half_written": [], "vectors": {
        "mobilenet_v2.random-64px": {"dim": 1280, "points": 2 * PER_CLASS, "encoder": "mobilenet_v2.random"}}}]

    csv = tmp_path / "embeddings.csv"
    assert runner.invoke(main, ["export", "-c", "folder-photos", "-o", str(csv), "--qdrant", str(store)]).exit_code == 0
    lines = csv.read_text().splitlines()
    assert len(lines) == 1 + 2 * PER_CLASS
    assert lines[0].startswith("sample_id,dataset,split,label,label_name,source,content,mobilenet_v2.random-64px_0")
    assert len(lines[1].split(",")) == 7 + 1280
    exported_ids = [line.split(",")[0] for line in lines[1:]]
    assert exported_ids == sorted(exported_ids) and exported_ids[0] == "folder/cat/0.jpg"  # the folder's order

    import pyarrow.parquet as pq

    parquet = tmp_path / "embeddings.parquet"
    runner.invoke(main, ["export", "-c", "folder-photos", "-o", str(parquet), "--qdrant", str(store)])
    table = pq.read_table(parquet)
    assert table.num_rows == 2 * PER_CLASS and len(table.column("mobilenet_v2.random-64px")[0]) == 1280

    npy = tmp_path / "vectors.npy"
    runner.invoke(main, ["export", "-c", "folder-photos", "-o", str(npy), "--qdrant", str(store)])
    assert np.load(npy).shape == (2 * PER_CLASS, 1280)
    assert len(Path(f"{npy}.payload.jsonl").read_text().splitlines()) == 2 * PER_CLASS

    pushed = runner.invoke(main, ["push", "-c", "folder-photos", "--to", f"local:{tmp_path / 'server'}",
                                  "--qdrant", str(store)])
    assert pushed.exit_code == 0, pushed.output
    with open_store(f"local:{tmp_path / 'server'}") as copy, open_store(store) as original:
        assert copy.count("folder-photos", "mobilenet_v2.random-64px") == 2 * PER_CLASS
        sample = ["folder/coffee/3.jpg"]
        np.testing.assert_allclose(copy.get_vectors("folder-photos", "mobilenet_v2.random-64px", sample),
                                   original.get_vectors("folder-photos", "mobilenet_v2.random-64px", sample))
        assert copy.vector_record("folder-photos", "mobilenet_v2.random-64px").encoder == "mobilenet_v2.random"

    dropped = runner.invoke(main, ["collections", "--qdrant", str(store), "drop", "folder-photos", "--yes"])
    assert dropped.exit_code == 0
    assert json.loads(runner.invoke(main, ["collections", "--qdrant", str(store), "--json"]).output) == []


def test_export_says_how_many_points_lack_a_vector(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = str(tmp_path / "store")
    ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, store=store, workers=0)
    ingest(f"folder:{folder}", "vgg16.random", image_size=32, store=store, workers=0, limit=3)
    result = CliRunner().invoke(main, ["export", "-c", "folder-photos", "-e", "mobilenet_v2.random-32px", "-e",
                                       "vgg16.random-32px", "-o", str(tmp_path / "both.parquet"), "--qdrant", store])
    assert result.exit_code == 0, result.output
    assert "exported 3 points" in result.stderr and f"{2 * PER_CLASS - 3} points lack" in result.stderr


def test_store_commands_take_json_and_the_store_after_the_subcommand(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = str(tmp_path / "store")
    ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, store=store, workers=0)
    runner = CliRunner()
    exported = runner.invoke(main, ["export", "-c", "folder-photos", "-o", str(tmp_path / "e.npy"), "--qdrant", store,
                                    "--json"])
    assert json.loads(exported.stdout) == {"collection": "folder-photos", "vectors": ["mobilenet_v2.random-32px"],
                                           "file": str(tmp_path / "e.npy"), "points": 2 * PER_CLASS, "left_out": 0}
    pushed = runner.invoke(main, ["push", "-c", "folder-photos", "--to", str(tmp_path / "copy"), "--qdrant", store,
                                  "--json"])
    assert json.loads(pushed.stdout)["points"] == {"mobilenet_v2.random-32px": 2 * PER_CLASS}
    dropped = runner.invoke(main, ["collections", "drop", "folder-photos", "--qdrant", store, "--yes", "--json"])
    assert dropped.exit_code == 0, dropped.output
    assert json.loads(dropped.stdout) == {"collection": "folder-photos", "dropped": 2 * PER_CLASS}


def test_a_push_to_a_server_that_is_not_there_does_not_advise_leaving_out_a_qdrant_not_given(tmp_path):
    from tests.cli.test_fuzz import assert_one_error_line
    from tests.store.client.test_store import closed_port

    url = f"http://127.0.0.1:{closed_port()}"
    pushed = CliRunner().invoke(main, ["push", "-c", "toy", "--to", url, "--qdrant", str(tmp_path / "empty")])
    error = assert_one_error_line(pushed)
    assert f"cannot reach the Qdrant server at {url}" in error and "--qdrant" not in error
    listed = CliRunner().invoke(main, ["collections", "--qdrant", url])
    assert "or leave out --qdrant (and $EMBEDKIT_QDRANT) to use the embedded store" in assert_one_error_line(listed)
