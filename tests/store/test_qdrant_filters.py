"""Qdrant's filter language through the store's point access: the embedded store (whose filters edge/filters.py
translates into Qdrant Edge's classes) selects exactly the points qdrant-client's own local mode selects, for every
kind of condition; and writes by point id keep embedkit's records."""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import models as m

from embedkit.errors import SampleNotFoundError
from embedkit.records import VectorRecord
from embedkit.store import METADATA_POINT_ID, open_store, point_id
from embedkit.store.point_writes import NewPoint, RefusedWriteError

RECORD = VectorRecord("enc-a", 4, "image", weights="w1")
FILTERS = {
    "match": m.Filter(must=[m.FieldCondition(key="colour", match=m.MatchValue(value="red"))]),
    "any": m.Filter(must=[m.FieldCondition(key="label", match=m.MatchAny(any=[1, 2]))]),
    "except": m.Filter(must=[m.FieldCondition(key="colour", match=m.MatchExcept(**{"except": ["red"]}))]),
    "range": m.Filter(must=[m.FieldCondition(key="weight", range=m.Range(gte=1.5, lt=4))]),
    "should": m.Filter(should=[m.FieldCondition(key="label", match=m.MatchValue(value=0)),
                               m.FieldCondition(key="weight", range=m.Range(gt=4))]),
    "must_not": m.Filter(must_not=[m.FieldCondition(key="label", match=m.MatchValue(value=0))]),
    "nested filters": m.Filter(must=[m.Filter(should=[m.FieldCondition(key="colour", match=m.MatchValue(value="red")),
                                                      m.IsEmptyCondition(is_empty=m.PayloadField(key="note"))])]),
    "is_empty": m.Filter(must=[m.IsEmptyCondition(is_empty=m.PayloadField(key="note"))]),
    "is_null": m.Filter(must=[m.IsNullCondition(is_null=m.PayloadField(key="note"))]),
    "values_count": m.Filter(must=[m.FieldCondition(key="tags", values_count=m.ValuesCount(gte=2))]),
    "has_id": m.Filter(must=[m.HasIdCondition(has_id=[point_id("s0"), point_id("s3")])]),
    "has_vector": m.Filter(must=[m.HasVectorCondition(has_vector="a")]),
    "min_should": m.Filter(min_should=m.MinShould(conditions=[
        m.FieldCondition(key="label", match=m.MatchValue(value=1)),
        m.FieldCondition(key="colour", match=m.MatchValue(value="red")),
        m.FieldCondition(key="weight", range=m.Range(lt=2))], min_count=2)),
    "nested": m.Filter(must=[m.NestedCondition(nested=m.Nested(key="parts", filter=m.Filter(must=[
        m.FieldCondition(key="size", range=m.Range(gte=2))])))]),
    "geo_radius": m.Filter(must=[m.FieldCondition(key="at", geo_radius=m.GeoRadius(
        center=m.GeoPoint(lon=13.4, lat=52.5), radius=150_000))]),
    "geo_bounding_box": m.Filter(must=[m.FieldCondition(key="at", geo_bounding_box=m.GeoBoundingBox(
        top_left=m.GeoPoint(lon=12.0, lat=54.0), bottom_right=m.GeoPoint(lon=16.0, lat=50.0)))]),
    "geo_polygon": m.Filter(must=[m.FieldCondition(key="at", geo_polygon=m.GeoPolygon(exterior=m.GeoLineString(
        points=[m.GeoPoint(lon=12.0, lat=50.0), m.GeoPoint(lon=16.0, lat=50.0), m.GeoPoint(lon=16.0, lat=54.0),
                m.GeoPoint(lon=12.0, lat=54.0), m.GeoPoint(lon=12.0, lat=50.0)])))]),
}


def filled(location: str):
    store = open_store(location)
    ids = [f"s{i}" for i in range(12)]
    payloads = [{"label": i % 3, "colour": ["red", "green"][i % 2], "weight": i / 2, "tags": ["x"] * (i % 3),
                 "parts": [{"size": i % 4}],
                 "at": {"lon": 13.4 + (i % 3) * 2, "lat": 52.5}, **({"note": None} if i % 4 == 0 else {"note": "n"} if i % 4 == 1 else {})}
                for i in range(12)]
    store.ensure_vector("c", "a", RECORD)
    store.upsert("c", "a", ids, np.random.default_rng(0).normal(size=(12, 4)), payloads)
    return store


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    edge, local = filled(str(tmp_path_factory.mktemp("edge") / "store")), filled(":memory:")
    yield edge, local
    edge.close()
    local.close()


@pytest.mark.parametrize("kind", sorted(FILTERS))
def test_the_embedded_store_selects_what_qdrant_client_selects(stores, kind):
    edge, local = stores
    selected = [sorted(p.id for p in store.scroll_points("c", filter=FILTERS[kind], limit=100)[0])
                for store in stores]
    assert selected[0] == selected[1]
    assert 0 < len(selected[0]) < 12 or kind == "has_vector"
    assert edge.count_points("c", FILTERS[kind]) == local.count_points("c", FILTERS[kind]) == len(selected[0])


def test_nearest_with_a_filter_offset_and_threshold_is_the_same_on_both(stores):
    query = np.ones(4, dtype=np.float32)
    found = [store.nearest_points("c", "a", query, limit=3, offset=1, filter=FILTERS["must_not"],
                                  score_threshold=-0.5, exact=True) for store in stores]
    assert [r.id for r in found[0]] == [r.id for r in found[1]]
    assert np.allclose([r.score for r in found[0]], [r.score for r in found[1]], atol=1e-5)


def test_writes_by_point_id_refuse_what_breaks_the_records_and_keep_the_rest(tmp_path):
    with filled(str(tmp_path / "store")) as store:
        with pytest.raises(RefusedWriteError, match="size 4"):
            store.write_points("c", [NewPoint(point_id("n1"), {"a": [0.1] * 4}, {"sample_id": "n1"}),
                                     NewPoint(point_id("n2"), {"a": [0.1] * 3}, {"sample_id": "n2"})])
        with pytest.raises(RefusedWriteError, match="metadata point"):
            store.delete_points("c", ids=[METADATA_POINT_ID])
        with pytest.raises(SampleNotFoundError):
            store.set_points_payload("c", {"x": 1}, ids=[point_id("absent")])
        assert store.count("c") == 12
        store.write_points("c", [NewPoint(point_id("n1"), {"a": [0.1] * 4}, {"sample_id": "n1", "label": 7})])
        assert store.payloads("c", ["n1"])["n1"]["label"] == 7
        assert store.delete_points("c", filter=FILTERS["match"]) == 6
        assert store.count("c") == 7


def test_a_payload_write_by_filter_stopped_half_way_leaves_its_fields_marked_half_written(tmp_path, monkeypatch):
    with filled(str(tmp_path / "store")) as store:
        store.set_points_payload("c", {"reviewed": 1}, filter=FILTERS["match"])
        assert store.unfinished_fields("c") == {}
        calls = []

        def stopped(collection, items):
            calls.append(items)
            raise KeyboardInterrupt  # as a kill between two writes would stop it

        monkeypatch.setattr(store, "_set_payloads", stopped)
        with pytest.raises(KeyboardInterrupt):
            store.set_points_payload("c", {"reviewed": 2}, filter=FILTERS["match"])
        assert calls and set(store.unfinished_fields("c")) == {"reviewed"}
        (line,) = store.half_written("c")
        assert "'reviewed'" in line and "set_payload" in line and "\n" not in line
        monkeypatch.undo()
        store.delete_points_payload("c", ["reviewed"], filter=FILTERS["match"])
        store.set_points_payload("c", {"reviewed": 2}, filter=FILTERS["match"])
        assert store.unfinished_fields("c") == {}
