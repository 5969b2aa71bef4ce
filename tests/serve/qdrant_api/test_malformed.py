"""Bodies hypothesis makes by breaking valid requests of each read route (any JSON put anywhere in them, where
qdrant-client's models validate them): none is answered with a 5xx, every error in Qdrant's error body.

(schemathesis over this API's OpenAPI schema, which qdrant-client's models make large, took minutes here.)"""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serve.qdrant_api.conftest import COLLECTION, IMAGES, KEY

VALID = {
    "points/query": {"query": [0.1] * 8, "using": IMAGES, "limit": 3, "filter": {"must": [{"key": "label",
                                                                                            "match": {"value": 1}}]}},
    "points/scroll": {"limit": 2, "with_payload": ["label"], "filter": {"should": [{"has_id": [1]}]}},
    "points/count": {"filter": {"must_not": [{"key": "weight", "range": {"gte": 2}}]}},
    "facet": {"key": "label", "limit": 2},
    "points": {"ids": ["00000000-0000-0000-0000-000000000001"], "with_vector": True},
    "points/query/batch": {"searches": [{"query": [0.1] * 8, "using": IMAGES}]},
}
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


@pytest.fixture(scope="module")
def qdrant_app(store_path):
    from embedkit.serve import ServeSettings
    from embedkit.serve.qdrant_api import create_qdrant_app
    from embedkit.store import open_store

    with open_store(store_path) as store:
        yield create_qdrant_app(store, ServeSettings(api_key=KEY))


@pytest.mark.parametrize("route", sorted(VALID))
def test_broken_bodies_are_4xx_in_qdrants_error_body(qdrant_app, route):
    from fastapi.testclient import TestClient

    web = TestClient(qdrant_app, headers={"api-key": KEY}, base_url="http://localhost")

    @given(path=st.lists(st.text(max_size=6), min_size=1, max_size=3), value=JSON)
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def broken(path, value):
        body = _replaced(VALID[route], path, value)
        response = web.post(f"/collections/{COLLECTION}/{route}", json=body)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert set(response.json()) == {"status", "time"} and response.json()["status"]["error"]

    assert web.post(f"/collections/{COLLECTION}/{route}", json=VALID[route]).status_code == 200
    broken()


def _replaced(body, path, value):
    """`body` with the part at `path` (keys picked by hash where they do not exist) set to `value`."""
    if not path or not isinstance(body, (dict, list)) or not body:
        return value
    if isinstance(body, dict):
        keys = sorted(body)
        key = path[0] if path[0] in body else keys[zlib.crc32(path[0].encode()) % len(keys)]
        return {**body, key: _replaced(body[key], path[1:], value)}
    index = zlib.crc32(path[0].encode()) % len(body)
    return [*body[:index], _replaced(body[index], path[1:], value), *body[index + 1:]]
