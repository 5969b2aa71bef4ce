"""Writes through Qdrant's API (a server with an access key and --qdrant-api-writes): visible to embedkit's search,
kept over a restart; a write that would break embedkit's records is refused Qdrant-style and changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as m
from qdrant_client.http.exceptions import UnexpectedResponse

from embedkit.store import METADATA_POINT_ID, open_store, point_id
from tests.serve.qdrant_api.conftest import COLLECTION, IMAGES, KEY, POINTS, SIZES, TEXTS, serving

pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")


@pytest.fixture
def writable(store_path, tmp_path):
    path = Path(shutil.copytree(store_path, tmp_path / "store"))
    with serving(path, api_key=KEY, qdrant_api_writes=True) as server:
        client = QdrantClient(url=server.qdrant, prefer_grpc=False, api_key=KEY)
        yield path, server, client
        client.close()


@pytest.fixture(scope="module")
def refusing(store_path, tmp_path_factory):
    """One writable server for the writes that are refused: each must leave it as it was."""
    path = Path(shutil.copytree(store_path, tmp_path_factory.mktemp("refusing") / "store"))
    with serving(path, api_key=KEY, qdrant_api_writes=True) as server:
        client = QdrantClient(url=server.qdrant, prefer_grpc=False, api_key=KEY)
        yield path, server, client
        client.close()


def snapshot(store) -> list[tuple]:
    """Every point of the collection with its payload and vectors, the metadata point's payload included."""
    points, _ = store.scroll_points(COLLECTION, limit=1000, vectors=sorted(SIZES))
    rows = [(p.id, sorted(p.payload.items()), {k: list(v) for k, v in sorted(p.vectors.items())}) for p in points]
    return rows + [("metadata", store._read_metadata(COLLECTION))]


def new_point(sample: str, **vectors) -> m.PointStruct:
    return m.PointStruct(id=point_id(sample), vector=vectors, payload={"sample_id": sample, "label": 9})


def test_an_upsert_is_seen_by_embedkits_search_and_survives_a_restart(writable):
    path, server, client = writable
    vector = np.linspace(-1, 1, SIZES[IMAGES]).tolist()
    result = client.upsert(COLLECTION, [new_point("added/1", **{IMAGES: vector, TEXTS: [0.5, 0.1, 0.2, 0.3]})])
    assert result.status == m.UpdateStatus.COMPLETED
    hits = server.store.search(COLLECTION, IMAGES, np.array(vector), k=1)
    assert hits[0].sample_id == "added/1" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].payload["label"] == 9
    assert client.count(COLLECTION).count == POINTS + 1
    client.close()
    server.store.close()
    with open_store(path) as reopened:
        assert reopened.count(COLLECTION) == POINTS + 1
        assert reopened.search(COLLECTION, TEXTS, np.array([0.5, 0.1, 0.2, 0.3]), k=1)[0].sample_id == "added/1"
        assert reopened.payloads(COLLECTION, ["added/1"])["added/1"]["label"] == 9


def test_a_batch_upsert_writes_each_named_vector(writable):
    _, server, client = writable
    ids = [point_id("batch/1"), point_id("batch/2")]
    client.upsert(COLLECTION, m.Batch(ids=ids, vectors={IMAGES: [[0.1] * 8, [0.2] * 7 + [0.9]]},
                                      payloads=[{"sample_id": "batch/1"}, {"sample_id": "batch/2"}]))
    found = server.store.retrieve_points(COLLECTION, ids, vectors=[IMAGES, TEXTS])
    assert [p.payload["sample_id"] for p in found] == ["batch/1", "batch/2"]
    assert all(set(p.vectors) == {IMAGES} for p in found)


@pytest.mark.parametrize("point, says", [
    (new_point("bad/1", **{IMAGES: [0.1] * 5}), "has size 8"),
    (new_point("bad/2", **{"absent": [0.1] * 8}), "no vector 'absent'"),
    (m.PointStruct(id=METADATA_POINT_ID, vector={IMAGES: [0.1] * 8}, payload={"sample_id": "x"}), "metadata point"),
    (m.PointStruct(id=point_id("bad/3"), vector={IMAGES: [0.1] * 8}, payload={"label": 1}), "sample_id"),
    (m.PointStruct(id=point_id("bad/4"), vector={IMAGES: [0.1] * 8}, payload={"sample_id": "other"}),
     "write it under that id"),
    (m.PointStruct(id=point_id("bad/5"), vector=[0.1] * 8, payload={"sample_id": "bad/5"}), "no named vector"),
])
def test_a_write_that_would_break_embedkits_records_is_refused_whole(refusing, point, says):
    _, server, client = refusing
    before = snapshot(server.store)
    good = new_point("good/1", **{IMAGES: [0.3] * 8})
    with pytest.raises(UnexpectedResponse) as raised:
        client.upsert(COLLECTION, [good, point])
    assert raised.value.status_code == 400
    assert says in raised.value.content.decode() and b'"status":{"error"' in raised.value.content
    assert snapshot(server.store) == before


def test_deleting_the_metadata_point_is_refused_and_filters_never_reach_it(writable):
    _, server, client = writable
    before = snapshot(server.store)
    with pytest.raises(UnexpectedResponse) as raised:
        client.delete(COLLECTION, points_selector=m.PointIdsList(points=[METADATA_POINT_ID, point_id("sample/001")]))
    assert raised.value.status_code == 400 and b"metadata point" in raised.value.content
    assert snapshot(server.store) == before
    client.delete(COLLECTION, points_selector=m.FilterSelector(filter=m.Filter()))  # every point
    assert client.count(COLLECTION).count == 0
    assert server.store.vector_names(COLLECTION) == sorted(SIZES)
    assert server.store.default_vector(COLLECTION) == IMAGES


def test_delete_by_id_and_by_filter(writable):
    _, server, client = writable
    client.delete(COLLECTION, points_selector=[point_id("sample/001"), point_id("sample/002")])
    assert client.retrieve(COLLECTION, [point_id("sample/001")]) == []
    label_1 = m.Filter(must=[m.FieldCondition(key="label", match=m.MatchValue(value=1))])
    client.delete(COLLECTION, points_selector=m.FilterSelector(filter=label_1))
    assert client.count(COLLECTION, count_filter=label_1).count == 0
    assert server.store.count(COLLECTION) == POINTS - 1 - POINTS // 4  # sample 1 had label 1
    assert "sample/002" not in [hit.sample_id for hit in server.store.search(
        COLLECTION, IMAGES, server.store.get_vectors(COLLECTION, IMAGES, ["sample/006"])[0], k=POINTS)]


def test_set_overwrite_and_delete_payload(writable):
    _, server, client = writable
    one, two = point_id("sample/001"), point_id("sample/002")
    client.set_payload(COLLECTION, {"reviewed": True}, points=[one])
    assert server.store.payloads(COLLECTION, ["sample/001"])["sample/001"]["reviewed"] is True
    client.set_payload(COLLECTION, {"batch": "b"}, points=m.Filter(must=[m.HasIdCondition(has_id=[one, two])]))
    assert {p.payload["batch"] for p in client.retrieve(COLLECTION, [one, two])} == {"b"}
    client.overwrite_payload(COLLECTION, {"only": 1}, points=[two])
    assert client.retrieve(COLLECTION, [two])[0].payload == {"only": 1, "sample_id": "sample/002"}
    client.delete_payload(COLLECTION, ["reviewed"], points=[one])
    assert "reviewed" not in server.store.payloads(COLLECTION, ["sample/001"])["sample/001"]


@pytest.mark.parametrize("write", [
    lambda c: c.set_payload(COLLECTION, {"sample_id": "renamed"}, points=[point_id("sample/001")]),
    lambda c: c.delete_payload(COLLECTION, ["sample_id"], points=[point_id("sample/001")]),
    lambda c: c.set_payload(COLLECTION, {"x": 1}, points=[point_id("sample/001"), point_id("absent")]),
    lambda c: c.overwrite_payload(COLLECTION, {"x": 1}, points=[METADATA_POINT_ID]),
])
def test_a_payload_write_that_would_break_a_record_is_refused_and_changes_nothing(refusing, write):
    _, server, client = refusing
    before = snapshot(server.store)
    with pytest.raises(UnexpectedResponse) as raised:
        write(client)
    assert raised.value.status_code in (400, 404)
    assert snapshot(server.store) == before


def test_writes_need_an_access_key_as_well_as_the_flag(store_path, tmp_path):
    path = Path(shutil.copytree(store_path, tmp_path / "store"))
    with serving(path, qdrant_api_writes=True) as server:
        client = QdrantClient(url=server.qdrant, prefer_grpc=False)
        with pytest.raises(UnexpectedResponse) as raised:
            client.upsert(COLLECTION, [new_point("added/1", **{IMAGES: [0.1] * 8})])
        assert raised.value.status_code == 403
        assert client.count(COLLECTION).count == POINTS
