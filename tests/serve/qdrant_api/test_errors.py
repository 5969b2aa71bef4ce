"""What goes wrong answers as a Qdrant server answers it: its status codes and `{"status": {"error": ...}}`, the
endpoint named where it is not served, never a 500; the access key as Qdrant's `api-key` header."""

from __future__ import annotations

import httpx
import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as m
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.serve.qdrant_api.conftest import COLLECTION, IMAGES, KEY, POINTS

pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
HEADERS = {"api-key": KEY}


def error_of(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"status", "time"} and isinstance(body["time"], float)
    return body["status"]["error"]


def test_an_unknown_collection_is_a_404_as_qdrant_says_it(client, server):
    with pytest.raises(UnexpectedResponse) as raised:
        client.get_collection("absent")
    assert raised.value.status_code == 404
    response = httpx.post(f"{server.qdrant}/collections/absent/points/query", headers=HEADERS, json={"query": [1.0]})
    assert response.status_code == 404 and error_of(response) == "Not found: Collection `absent` doesn't exist!"


@pytest.mark.parametrize("headers, query", [({}, ""), ({"api-key": "wrong"}, ""), ({}, "?api_key=wrong")])
def test_without_the_access_key_every_collection_route_is_a_401(server, headers, query):
    response = httpx.get(f"{server.qdrant}/collections{query}", headers=headers)
    assert response.status_code == 401 and "api-key" in error_of(response)


@pytest.mark.parametrize("headers, query", [({"api-key": KEY}, ""), ({"authorization": f"Bearer {KEY}"}, ""),
                                            ({"x-api-key": KEY}, ""), ({}, f"?api_key={KEY}")])
def test_the_access_key_is_taken_as_qdrant_and_embedkit_send_it(server, headers, query):
    assert httpx.get(f"{server.qdrant}/collections{query}", headers=headers).json()["status"] == "ok"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_no_docs_page_that_loads_its_script_from_a_cdn_blocked_by_the_csp(server, page):
    response = httpx.get(server.qdrant + page, headers=HEADERS)
    assert response.status_code == 404 and "is not part of Qdrant's API" in error_of(response)


def test_a_client_without_the_key_is_refused_and_the_version_needs_none(server):
    anonymous = QdrantClient(url=server.qdrant, prefer_grpc=False, check_compatibility=False)
    with pytest.raises(UnexpectedResponse) as raised:
        anonymous.get_collections()
    assert raised.value.status_code == 401
    assert httpx.get(server.qdrant).json()["version"] == anonymous.info().version


@pytest.mark.parametrize("method, path", [
    ("PUT", f"/collections/{COLLECTION}"), ("DELETE", f"/collections/{COLLECTION}"),
    ("POST", f"/collections/{COLLECTION}/snapshots"), ("GET", "/cluster"),
    ("PUT", f"/collections/{COLLECTION}/index"), ("POST", f"/collections/{COLLECTION}/points/query/groups"),
])
def test_an_endpoint_not_served_answers_qdrant_style_naming_it(server, method, path):
    response = httpx.request(method, server.qdrant + path, headers=HEADERS, json={})
    assert response.status_code == 404
    assert f"{method} {path} is not part of Qdrant's API that embedkit serves" in error_of(response)


@pytest.mark.parametrize("body, named", [
    ({"query": {"discover": {"target": [0.0] * 8, "context": []}}, "using": IMAGES}, "DiscoverQuery"),
    ({"query": {"fusion": "rrf"}, "prefetch": [{"query": [0.0] * 8, "using": IMAGES}]}, "`prefetch`"),
    ({"query": {"recommend": {"positive": [[0.1] * 8], "strategy": "sum_scores"}}, "using": IMAGES}, "sum_scores"),
    ({"query": {"nearest": [0.1] * 8, "mmr": {"diversity": 0.5}}, "using": IMAGES}, "mmr"),
    ({"query": {"order_by": "label"}}, "OrderByQuery"),
])
def test_a_query_not_served_is_a_400_naming_what(server, body, named):
    response = httpx.post(f"{server.qdrant}/collections/{COLLECTION}/points/query", headers=HEADERS, json=body)
    assert response.status_code == 400 and named in error_of(response) and "not supported" in error_of(response)


@pytest.mark.parametrize("body, says", [
    ({"query": [0.1] * 3, "using": IMAGES}, "dim 8"),
    ({"query": [0.1] * 8, "using": "absent"}, "Not existing vector name"),
    ({"query": "00000000-0000-0000-0000-00000000abcd", "using": IMAGES}, "no point"),
    ({"query": "not an id", "using": IMAGES}, "neither an unsigned integer nor a UUID"),
    ({"query": [0.1] * 8, "using": IMAGES, "limit": "many"}, "Format error in JSON body"),
    ({"query": [0.1] * 8, "using": IMAGES, "filter": {"must": [{"key": "label", "match": {"value": 1}}],
                                                      "unknown": 1}}, "Format error in JSON body"),
])
def test_a_wrong_query_is_a_4xx_saying_what_is_wrong(server, body, says):
    response = httpx.post(f"{server.qdrant}/collections/{COLLECTION}/points/query", headers=HEADERS, json=body)
    assert 400 <= response.status_code < 500 and says in error_of(response)


def test_facet_of_a_field_without_an_index_is_a_400(client):
    with pytest.raises(UnexpectedResponse) as raised:
        client.facet(COLLECTION, "colour")
    assert raised.value.status_code == 400 and b"payload index" in raised.value.content


def test_writes_on_a_read_only_api_are_a_403_and_change_nothing(client, server):
    with pytest.raises(UnexpectedResponse) as raised:
        client.delete(COLLECTION, points_selector=m.FilterSelector(filter=m.Filter()))
    assert raised.value.status_code == 403 and b"--qdrant-api-writes" in raised.value.content
    assert client.count(COLLECTION).count == POINTS


def test_a_body_that_is_not_json_is_a_400(server):
    response = httpx.post(f"{server.qdrant}/collections/{COLLECTION}/points/scroll", headers={**HEADERS,
                          "content-type": "application/json"}, content=b"{not json")
    assert response.status_code == 400 and error_of(response).startswith("Format error in JSON body")
