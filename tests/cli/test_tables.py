"""Tables read at 80 columns: what tells rows apart (sample ids, vector names) is shown whole."""

from __future__ import annotations

import numpy as np
import pytest

from embedkit.records import VectorRecord
from embedkit.store import open_store

LONG_VECTOR = "ensemble:efficientnet_lite0.imagenet1k+resnet50.imagenet1k_v2"
LONGER_VECTOR = "ensemble:efficientnet_lite0.imagenet1k+mobilenet_v2.imagenet1k_v2*0.5+vgg16"
FOLDER = "/srv/photos/holidays/2024/summer-in-the-mountains/camera-roll"


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "store"
    rng = np.random.default_rng(0)
    ids = [f"folder/alpine_meadows/IMG_20240712_1530{i:02d}_HDR.jpg" for i in range(4)]
    with open_store(path) as opened:
        for name in ("short.v1", LONG_VECTOR, LONGER_VECTOR):
            opened.ensure_vector("holidays", name, VectorRecord(name, 8))
            vectors = rng.standard_normal((4, 8)).astype(np.float32)
            opened.upsert("holidays", name, ids, vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
                          [{"label": 0, "label_name": "alpine_meadows", "source": f"{FOLDER}/{s.split('/', 1)[1]}"}
                           for s in ids])
    return path, ids


def test_collections_shows_long_vector_names_whole_at_80_columns(run, store):
    path, _ = store
    output = run("collections", "--qdrant", path).output
    assert max(len(line) for line in output.splitlines()) <= 80
    assert LONG_VECTOR in output and "short.v1 (default)" in output
    cells = "".join(line.strip().split("  ")[0] for line in output.splitlines())
    assert LONGER_VECTOR in cells  # too long for one line: folded, never cut


def test_search_shows_sample_ids_whole_and_sources_under_their_folder_at_80_columns(run, store):
    path, ids = store
    result = run("search", "-c", "holidays", "--id", ids[0], "-k", 3, "--qdrant", path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    for sample_id in ids[1:]:
        assert any(sample_id in line for line in lines), f"{sample_id} is cut:\n{result.output}"
    assert f"sources in {FOLDER}/alpine_meadows" in " ".join(result.output.split())
    assert "0." in result.output and "…" not in result.output
