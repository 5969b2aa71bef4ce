"""The HTTP API on a small collection: each query kind, filters, images, maps, bench results and every error."""

from __future__ import annotations

import io
import json
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from embedkit.encoders import get_encoder
from embedkit.retrieval import search
from embedkit.serve import ServeSettings, create_app
from embedkit.store import open_store
from tests.serve.conftest import CAPTIONS, PIXELS, sample_id


@pytest.fixture(scope="module")
def opened(served):
    with open_store(served.store) as store:
        yield store


@pytest.fixture(scope="module")
def client(served, opened):
    return TestClient(create_app(opened, ServeSettings(results=(served.results,))), base_url="http://localhost")


def url(served, path: str = "") -> str:
    return f"/api/collections/{served.collection}{path}"


def colour(hit: dict) -> str:
    return hit["label_name"]


def upload(path, name: str | None = None):
    return {"image": (name or path.name, path.read_bytes(), "image/png")}


def test_collections_list_each_vector_with_its_encoder_and_what_it_embeds(client, served):
    collections = {c["name"]: c for c in client.get("/api/collections").json()}
    vectors = {v["name"]: v for v in collections[served.collection]["vectors"]}
    assert collections[served.collection]["points"] == 36
    assert (vectors[PIXELS]["encoder"], vectors[PIXELS]["dim"], vectors[PIXELS]["embeds_text"]) == ("pixels", 192, False)
    assert vectors[CAPTIONS]["embeds_text"] and not vectors[CAPTIONS]["embeds_images"]
    assert vectors[PIXELS]["default"] and not vectors[CAPTIONS]["default"]


def test_facets_count_the_labels_with_their_names_and_the_splits(client, served):
    facets = client.get(url(served, "/facets")).json()
    assert {(label["name"], label["count"]) for label in facets["labels"]} == {("blue", 12), ("green", 12), ("red", 12)}
    assert {(split["split"], split["count"]) for split in facets["splits"]} == {("train", 18), ("test", 18)}


def test_a_search_by_id_finds_the_same_colour_and_leaves_the_query_out(client, served, opened):
    query = sample_id(served, "test-red-0.png")
    body = client.post(url(served, "/search"), json={"id": query, "k": 5}).json()
    assert body["vector"] == PIXELS and body["query_hit"]["sample_id"] == query
    assert [colour(hit) for hit in body["hits"]] == ["red"] * 5
    assert query not in [hit["sample_id"] for hit in body["hits"]]
    expected = search(served.collection, sample_id=query, k=5, store=opened)
    assert [hit["sample_id"] for hit in body["hits"]] == [hit.sample_id for hit in expected.hits]
    assert [hit["rank"] for hit in body["hits"]] == [1, 2, 3, 4, 5]


def test_a_search_by_an_uploaded_image_matches_the_python_api(client, served, opened, tmp_path):
    pixels = np.clip(np.array([40, 180, 60]) + np.random.default_rng(7).normal(0, 30, (40, 40, 3)), 0, 255)
    Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "new-green.png")
    body = client.post(url(served, "/search/image"), files=upload(tmp_path / "new-green.png"), data={"k": "6"}).json()
    assert [colour(hit) for hit in body["hits"]] == ["green"] * 6
    assert body["query"]["image"] == "new-green.png"
    expected = search(served.collection, image=tmp_path / "new-green.png", k=6, store=opened)
    assert [hit["sample_id"] for hit in body["hits"]] == [hit.sample_id for hit in expected.hits]
    assert [hit["score"] for hit in body["hits"]] == pytest.approx([hit.score for hit in expected.hits], abs=1e-6)


def test_a_search_by_text_uses_the_vector_that_embeds_text(client, served):
    body = client.post(url(served, "/search"), json={"text": "a blue sky", "k": 4}).json()
    assert body["vector"] == CAPTIONS
    assert [colour(hit) for hit in body["hits"]] == ["blue"] * 4


def test_liked_and_disliked_examples_recommend_and_are_left_out(client, served):
    liked = [sample_id(served, "train-blue-0.png"), sample_id(served, "train-blue-1.png")]
    disliked = [sample_id(served, "train-red-0.png")]
    body = client.post(url(served, "/search"), json={"like": liked, "unlike": disliked, "k": 5}).json()
    found = [hit["sample_id"] for hit in body["hits"]]
    assert not set(found) & set(liked + disliked)
    assert [colour(hit) for hit in body["hits"]] == ["blue"] * 5


def test_filters_keep_only_matching_points(client, served):
    query = sample_id(served, "test-red-0.png")
    by_split = client.post(url(served, "/search"), json={"id": query, "k": 30, "filter": {"split": "train"}}).json()
    assert len(by_split["hits"]) == 18 and {hit["split"] for hit in by_split["hits"]} == {"train"}
    green = client.post(url(served, "/search"), json={"id": query, "k": 3, "filter": {"label": 1}}).json()
    assert {colour(hit) for hit in green["hits"]} == {"green"}
    either = client.post(url(served, "/search"), json={"id": query, "k": 30, "filter": {"label": [0, 1]}}).json()
    assert {colour(hit) for hit in either["hits"]} == {"blue", "green"}


def test_an_embedding_is_what_the_collections_encoder_makes_of_the_image(client, served):
    path = served.images / "test-green-3.png"
    body = client.post(url(served, "/embed"), files=upload(path)).json()
    expected = get_encoder("pixels", image_size=8, device="cpu").encode_images([path])[0]
    assert body["vector"] == PIXELS and body["dim"] == 192
    np.testing.assert_allclose(body["embedding"], expected, atol=1e-6)


def test_the_image_of_a_stored_sample_is_served_whole_or_as_a_thumbnail(client, served):
    query = sample_id(served, "test-blue-2.png")
    whole = client.get(url(served, "/image"), params={"id": query})
    assert whole.status_code == 200 and whole.headers["content-type"] == "image/png"  # small: lossless
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(whole.content))),
                          np.asarray(Image.open(served.images / "test-blue-2.png").convert("RGB")))
    thumb = client.get(url(served, "/image"), params={"id": query, "size": 96})
    assert thumb.headers["content-type"] == "image/png"
    shown = Image.open(io.BytesIO(thumb.content)).convert("RGB")
    assert shown.size == (96, 96)
    assert np.asarray(shown)[60:, :, 2].mean() > np.asarray(shown)[60:, :, 0].mean()  # blue below the stripe


@pytest.mark.parametrize("given", ["../../../../etc/passwd", "/etc/passwd", "manifest/img/../../list.csv",
                                   "manifest/img/nope.png"])
def test_only_images_the_collection_references_are_served(client, served, given):
    response = client.get(url(served, "/image"), params={"id": given})
    assert response.status_code == 404
    assert response.json()["detail"] == f"collection {served.collection!r} has no sample {given!r}"


def test_the_map_places_every_point_with_its_label(client, served):
    body = client.get(url(served, "/map"), params={"vector": "pixels"}).json()
    assert body["total"] == 36 and len(body["points"]) == 36 and body["vector"] == PIXELS
    by_colour: dict[str, list] = {}
    for point in body["points"]:
        by_colour.setdefault(point["label_name"], []).append((point["x"], point["y"]))
    centres = {name: np.mean(xy, axis=0) for name, xy in by_colour.items()}
    spread = max(np.linalg.norm(np.subtract(xy, centres[name]), axis=1).mean() for name, xy in by_colour.items())
    assert min(np.linalg.norm(centres[a] - centres[b]) for a in centres for b in centres if a < b) > spread


def test_a_large_collection_is_mapped_from_a_seeded_sample(served, opened):
    client = TestClient(create_app(opened, ServeSettings(map_points=10)), base_url="http://localhost")
    first = client.get(url(served, "/map")).json()
    assert first["total"] == 36 and len(first["points"]) == 10
    again = TestClient(create_app(opened, ServeSettings(map_points=10)),
                       base_url="http://localhost").get(url(served, "/map")).json()
    assert [point["id"] for point in again["points"]] == [point["id"] for point in first["points"]]


def test_bench_results_are_those_of_the_collection(client, served, tmp_path):
    results = client.get(url(served, "/bench")).json()
    assert [(r["encoder"], r["provenance"]["collection"]) for r in results] == [(PIXELS, served.collection)]
    assert 0 < results[0]["metrics"]["map@5"] <= 1
    other = json.loads(next(served.results.glob("*.json")).read_text())
    other["provenance"]["collection"] = "another"
    (tmp_path / "another.json").write_text(json.dumps(other))
    with open_store(served.store.parent / "unused") as empty:
        assert TestClient(create_app(empty, ServeSettings(results=(tmp_path,))),
                          base_url="http://localhost").get(url(served, "/bench")).status_code == 404


@pytest.mark.parametrize("body, status, detail", [
    ({"k": 3}, 400, 'give exactly one query: "id", "text" or "like"'),
    ({"id": "manifest/img/test-red-0.png", "text": "red"}, 400, "give exactly one query"),
    ({"id": "manifest/img/nope.png"}, 404, "has no vector 'pixels-8px' for sample id 'manifest/img/nope.png'"),
    ({"text": "red", "vector": "pixels"}, 400, "encoder pixels embeds images only"),
    ({"id": "manifest/img/test-red-0.png", "vector": "resnet50"}, 400, "has no vector 'resnet50'"),
    ({"id": "manifest/img/test-red-0.png", "filter": {"nope": 1}}, 400, "no point of collection"),
])
def test_a_request_that_cannot_run_gets_a_4xx_with_a_one_line_reason(client, served, body, status, detail):
    response = client.post(url(served, "/search"), json=body)
    assert response.status_code == status
    assert detail in response.json()["detail"] and "\n" not in response.json()["detail"]


@pytest.mark.parametrize("body", [{"id": "x", "k": 0}, {"id": "x", "k": 10**6}, {"id": "x", "filter": {"label": 2**70}},
                                  {"id": "x", "filter": {"a b": 1}}, {"id": "x", "filter": {"label": [1.5]}},
                                  {"id": "x", "surprise": True}, {"id": ""}])
def test_a_malformed_request_is_refused_before_it_runs(client, served, body):
    assert client.post(url(served, "/search"), json=body).status_code == 422


def test_an_unknown_collection_is_a_404_naming_where_to_look(client):
    response = client.post("/api/collections/nope/search", json={"id": "x"})
    assert response.status_code == 404
    assert response.json()["detail"] == "no collection 'nope' in this store; GET /api/collections lists them"


def test_an_upload_that_is_not_an_image_is_named_in_a_415(client, served):
    response = client.post(url(served, "/search/image"), files={"image": ("notes.png", b"hello", "image/png")})
    assert response.status_code == 415
    assert "'notes.png' is not an image file" in response.json()["detail"]
    assert "embedkit-upload" not in response.json()["detail"]


def test_an_empty_upload_and_a_malformed_filter_are_400s(client, served):
    empty = client.post(url(served, "/search/image"), files={"image": ("a.png", b"", "image/png")})
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    bad = client.post(url(served, "/search/image"), files=upload(served.images / "test-red-0.png"),
                      data={"filter": "{label: 3"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("filter is not a JSON object")


def test_an_upload_over_the_limit_is_a_413_whether_or_not_its_length_is_announced(served, opened):
    client = TestClient(create_app(opened, ServeSettings(max_upload_bytes=100_000)), base_url="http://localhost")
    big = np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG")
    announced = client.post(url(served, "/search/image"), files={"image": ("big.png", buffer.getvalue(), "image/png")})
    assert announced.status_code == 413 and "limit of 0.0953674 MiB" in announced.json()["detail"]

    def chunks():
        yield buffer.getvalue()[:1000]
        yield buffer.getvalue()[1000:]

    streamed = client.post(url(served, "/embed"), content=chunks(),
                           headers={"content-type": "application/octet-stream"})
    assert streamed.status_code in (413, 422)


def test_an_api_key_guards_every_route_but_health(served, opened):
    client = TestClient(create_app(opened, ServeSettings(api_key="s3cret")), base_url="http://localhost")
    assert client.get("/api/health").status_code == 200
    refused = client.get("/api/collections")
    assert refused.status_code == 401 and "X-API-Key" in refused.json()["detail"]
    assert client.get("/api/collections", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/api/collections", headers={"X-API-Key": "s3cret"}).status_code == 200
    image = client.get(url(served, "/image"), params={"id": sample_id(served, "test-red-0.png"), "api_key": "s3cret"})
    assert image.status_code == 200


def test_concurrent_searches_give_what_one_at_a_time_gives(client, served):
    queries = [sample_id(served, f"{split}-{c}-{i}.png") for split in ("train", "test")
               for c in ("red", "green", "blue") for i in range(6)]

    def ids(query):
        response = client.post(url(served, "/search"), json={"id": query, "k": 5})
        return [hit["sample_id"] for hit in response.json()["hits"]]

    alone = [ids(query) for query in queries]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(ids, queries * 3))
    assert together == alone * 3


def test_the_page_and_its_assets_come_from_the_server_alone(client):
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css", "/static/favicon.svg"):
        response = client.get(asset)
        addresses = set(re.findall(r"https?://[^\"' )]+", response.text)) - {"http://www.w3.org/2000/svg"}
        assert response.status_code == 200 and not addresses


def test_the_openapi_schema_describes_every_route(client):
    paths = json.loads(client.get("/openapi.json").text)["paths"]
    assert {"/api/health", "/api/collections", "/api/collections/{collection}/search",
            "/api/collections/{collection}/search/image", "/api/collections/{collection}/embed",
            "/api/collections/{collection}/image", "/api/collections/{collection}/map",
            "/api/collections/{collection}/bench", "/api/collections/{collection}/facets"} <= set(paths)


def test_the_api_docs_and_their_assets_come_from_the_server_alone(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "default-src 'self'" in docs.headers["content-security-policy"]
    assert not re.findall(r"https?://", docs.text) and "<script>" not in docs.text  # the CSP allows no inline script
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', docs.text):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc").status_code == 404  # Redoc would need a CDN


def test_browse_pages_through_the_points_of_a_filter_with_no_query(client, served):
    seen, offset = [], None
    while True:
        params = {"filter": json.dumps({"label_name": "red"}), "limit": 5, **({"offset": offset} if offset else {})}
        page = client.get(url(served, "/points"), params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["matching"] == 12 and len(body["points"]) <= 5
        seen += [point["sample_id"] for point in body["points"]]
        assert all(point["label_name"] == "red" for point in body["points"])
        offset = body["next_offset"]
        if offset is None:
            break
    assert len(seen) == len(set(seen)) == 12
    skipped = client.get(url(served, "/points"), params={"filter": json.dumps({"label_name": "red"}), "offset": 10})
    assert [point["sample_id"] for point in skipped.json()["points"]] == seen[10:]
    every = client.get(url(served, "/points"), params={"limit": 200}).json()
    assert every["matching"] == 36 and len(every["points"]) == 36 and every["next_offset"] is None


@pytest.mark.parametrize(("params", "status", "says"), [
    ({"offset": "second-page"}, 400, "neither a number of points to skip"),
    ({"filter": "label=3"}, 400, "filter is not a JSON object"),
    ({"limit": 0}, 422, "greater than or equal to 1"),
])
def test_a_browse_that_cannot_run_says_why(client, served, params, status, says):
    response = client.get(url(served, "/points"), params=params)
    assert response.status_code == status and says in response.text, response.text


def test_browsing_a_missing_collection_is_a_404(client):
    assert client.get("/api/collections/nope/points").status_code == 404


def test_bench_results_skip_a_fifo_and_a_folder_named_json_and_the_server_keeps_answering(served, opened, tmp_path):
    from tests.support.special_files import finishes, make_fifo

    folder = tmp_path / "results"
    folder.mkdir()
    for file in served.results.glob("*.json"):
        (folder / file.name).write_bytes(file.read_bytes())
    make_fifo(folder / "fifo.json")
    (folder / "dir.json").mkdir()
    client = TestClient(create_app(opened, ServeSettings(results=(folder,))), base_url="http://localhost")
    for _ in range(3):  # each would have held a worker thread for good
        response = finishes(lambda: client.get(url(served, "/bench")))
        assert response.status_code == 200
        assert [r["provenance"]["collection"] for r in response.json()] == [served.collection]
    assert finishes(lambda: client.get("/api/health")).status_code == 200
