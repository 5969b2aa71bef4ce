"""Qdrant's own JavaScript client (@qdrant/js-client-rest from npm, run by Node) against the running server: the
same calls as the Python tests, its answers equal to the store's own (ids, scores to 1e-5, payloads).

`./dev test` installs the client into .cache/qdrant-js (or $EMBEDKIT_QDRANT_JS, a folder holding node_modules);
without Node or the client these tests are skipped, saying why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import models as m

from embedkit.store import point_id
from tests.serve.qdrant_api.conftest import COLLECTION, IMAGES, KEY, POINTS, SIZES

ROOT = Path(__file__).resolve().parents[3]
MODULES = Path(os.environ.get("EMBEDKIT_QDRANT_JS", ROOT / ".cache" / "qdrant-js")) / "node_modules"
SCRIPT = Path(__file__).with_name("qdrant_calls.cjs")
LABEL_1 = {"must": [{"key": "label", "match": {"value": 1}}]}


@pytest.fixture(scope="module")
def answers(server):
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed (apt-get install nodejs); the JavaScript client's tests need it")
    if not (MODULES / "@qdrant" / "js-client-rest").is_dir():
        pytest.skip(f"@qdrant/js-client-rest is not in {MODULES}; ./dev test installs it from npm")
    vector = server.store.point_vectors(COLLECTION, IMAGES, [point_id("sample/001")])[0].tolist()
    given = {"collection": COLLECTION, "vector": vector, "using": IMAGES, "filter": LABEL_1,
             "ids": [point_id("sample/002"), point_id("sample/003")],
             "positive": [point_id("sample/001"), point_id("sample/006")], "negative": [point_id("sample/003")]}
    ran = subprocess.run([node, str(SCRIPT), server.url, KEY, json.dumps(given)], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "NODE_PATH": str(MODULES)})
    assert ran.returncode == 0, ran.stderr
    return given, json.loads(ran.stdout)


def same(got, expected) -> None:
    assert [p["id"] for p in got] == [r.id for r in expected]
    assert np.allclose([p["score"] for p in got], [r.score for r in expected], atol=1e-5)


def test_collections_and_their_info(answers):
    _, out = answers
    assert out["collections"] == [COLLECTION] and out["exists"] is True
    assert out["vectors"] == {name: [size, "Cosine"] for name, size in SIZES.items()}
    assert out["points_count"] == POINTS


def test_retrieve_scroll_count_and_facet_equal_the_store(answers, server):
    given, out = answers
    store, conditions = server.store, m.Filter.model_validate(LABEL_1)
    direct = store.retrieve_points(COLLECTION, given["ids"], vectors=[IMAGES])
    assert [(r["id"], r["payload"]) for r in out["retrieve"]] == [(p.id, p.payload) for p in direct]
    assert np.allclose(out["retrieve"][0]["vector"][IMAGES], direct[0].vectors[IMAGES])
    page, next_offset = store.scroll_points(COLLECTION, filter=conditions, limit=5)
    assert [(r["id"], r["payload"]) for r in out["scroll"]["points"]] == [(p.id, p.payload) for p in page]
    assert out["scroll"]["next_page_offset"] == next_offset
    assert out["count"] == store.count_points(COLLECTION, conditions) == POINTS // 4
    assert {h["value"]: h["count"] for h in out["facet"]} == store.facet(COLLECTION, "label")


def test_queries_equal_the_store_and_embedkits_search(answers, server):
    given, out = answers
    store, conditions = server.store, m.Filter.model_validate(LABEL_1)
    vector = np.array(given["vector"])
    same(out["query"], store.nearest_points(COLLECTION, IMAGES, vector, limit=5, filter=conditions))
    hits = store.search(COLLECTION, IMAGES, vector, k=5, filter={"label": 1})
    assert [p["payload"]["sample_id"] for p in out["query"]] == [hit.sample_id for hit in hits]
    by_id = store.point_vectors(COLLECTION, IMAGES, given["ids"][:1])[0]
    same(out["query_by_id"], store.nearest_points(COLLECTION, IMAGES, by_id, limit=4, exclude_ids=given["ids"][:1]))
    liked = store.recommend(COLLECTION, IMAGES, ["sample/001", "sample/006"], ["sample/003"], k=4)
    assert [p["payload"]["sample_id"] for p in out["recommend"]] == [hit.sample_id for hit in liked]
    assert np.allclose([p["score"] for p in out["recommend"]], [hit.score for hit in liked], atol=1e-5)
    same(out["batch"][0], store.nearest_points(COLLECTION, IMAGES, vector, limit=3))


def test_an_error_reaches_the_client_in_qdrants_body(answers):
    _, out = answers
    assert out["absent"] == {"status": 404, "error": "Not found: Collection `absent` doesn't exist!"}
