"""The official qdrant-client (REST) against `embedkit serve`'s Qdrant API: every read it supports gives what the
same call made on the store directly gives (ids, scores to 1e-5, payloads), and what embedkit's own search gives."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from qdrant_client import models as m

from embedkit.store import point_id
from tests.serve.qdrant_api.conftest import COLLECTION, IMAGES, KEY, POINTS, SIZES, TEXTS

pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")

LABEL_1 = m.Filter(must=[m.FieldCondition(key="label", match=m.MatchValue(value=1))])
RICH = m.Filter(
    should=[m.FieldCondition(key="colour", match=m.MatchAny(any=["red", "blue"])),
            m.FieldCondition(key="weight", range=m.Range(gte=8.0))],
    must_not=[m.FieldCondition(key="split", match=m.MatchValue(value="test"))],
)


def same_hits(got, expected) -> None:
    assert [str(p.id) for p in got] == [str(r.id) for r in expected]
    assert np.allclose([p.score for p in got], [r.score for r in expected], atol=1e-5)


def query_vector(server, name: str = IMAGES, sample: str = "sample/001") -> list[float]:
    return server.store.point_vectors(COLLECTION, name, [point_id(sample)])[0].tolist()


def test_lists_the_collections_and_says_which_exist(client):
    assert [c.name for c in client.get_collections().collections] == [COLLECTION]
    assert client.collection_exists(COLLECTION)
    assert not client.collection_exists("absent")


def test_collection_info_names_each_vector_with_its_size_and_cosine_and_counts_points_without_the_metadata_point(
        client, server):
    info = client.get_collection(COLLECTION)
    vectors = info.config.params.vectors
    assert {name: params.size for name, params in vectors.items()} == SIZES
    assert {params.distance for params in vectors.values()} == {m.Distance.COSINE}
    assert info.points_count == POINTS == server.store.count(COLLECTION)
    assert info.status in (m.CollectionStatus.GREEN, m.CollectionStatus.YELLOW)
    assert info.payload_schema["label"].data_type == m.PayloadSchemaType.INTEGER
    assert info.payload_schema["label"].points == POINTS


def test_retrieve_by_id_gives_the_payloads_and_the_vectors_asked_for(client, server):
    ids = [point_id("sample/003"), point_id("sample/005"), point_id("no such sample")]
    records = client.retrieve(COLLECTION, ids, with_vectors=[TEXTS])
    direct = server.store.retrieve_points(COLLECTION, ids, vectors=[TEXTS])
    assert [r.id for r in records] == [p.id for p in direct] == ids[:2]
    assert [r.payload for r in records] == [p.payload for p in direct]
    assert records[0].payload["sample_id"] == "sample/003"
    assert np.allclose(records[0].vector[TEXTS], direct[0].vectors[TEXTS])
    assert records[1].vector == {}  # sample 5 has no text vector


def test_retrieve_never_shows_the_metadata_point(client):
    from embedkit.store import METADATA_POINT_ID

    assert client.retrieve(COLLECTION, [METADATA_POINT_ID]) == []


def test_payload_selectors_keep_or_leave_out_keys(client):
    ids = [point_id("sample/002")]
    assert set(client.retrieve(COLLECTION, ids, with_payload=["label", "split"])[0].payload) == {"label", "split"}
    left = client.retrieve(COLLECTION, ids, with_payload=m.PayloadSelectorExclude(exclude=["colour"]))[0].payload
    assert "colour" not in left and left["sample_id"] == "sample/002"
    assert client.retrieve(COLLECTION, ids, with_payload=False)[0].payload is None


def test_scroll_pages_through_a_filtered_collection_as_the_store_does(client, server):
    pages, offset = [], None
    while True:
        records, offset = client.scroll(COLLECTION, scroll_filter=RICH, limit=4, offset=offset, with_vectors=True)
        pages.append(records)
        if offset is None:
            break
    got = [r for page in pages for r in page]
    direct, _ = server.store.scroll_points(COLLECTION, filter=RICH, limit=1000, vectors=[IMAGES, TEXTS])
    assert [r.id for r in got] == [r.id for r in direct]
    assert [r.payload for r in got] == [r.payload for r in direct]
    assert len(pages) > 2 and all(len(page) <= 4 for page in pages)
    for record in got:
        assert record.payload["split"] == "train"
        assert record.payload["colour"] in ("red", "blue") or record.payload["weight"] >= 8
        assert len(record.vector[IMAGES]) == SIZES[IMAGES]


@pytest.mark.parametrize("conditions", [
    None, LABEL_1, RICH,
    m.Filter(must=[m.IsEmptyCondition(is_empty=m.PayloadField(key="missing"))]),
    m.Filter(must=[m.HasVectorCondition(has_vector=TEXTS)]),
    m.Filter(must=[m.HasIdCondition(has_id=[point_id("sample/001"), point_id("sample/002")])]),
    m.Filter(must=[m.FieldCondition(key="weight", range=m.Range(gt=2.0, lt=5.0))],
             must_not=[m.FieldCondition(key="colour", match=m.MatchExcept(**{"except": ["red"]}))]),
    m.Filter(min_should=m.MinShould(conditions=[m.FieldCondition(key="label", match=m.MatchValue(value=0)),
                                                m.FieldCondition(key="split", match=m.MatchValue(value="test"))],
                                    min_count=2)),
])
def test_count_with_qdrants_filters_equals_the_store(client, server, conditions):
    counted = client.count(COLLECTION, count_filter=conditions).count
    assert counted == server.store.count_points(COLLECTION, conditions)
    everything, _ = server.store.scroll_points(COLLECTION, limit=1000)
    assert 0 < counted <= len(everything) == POINTS


def test_count_of_filters_that_can_be_checked_by_hand(client):
    assert client.count(COLLECTION, count_filter=LABEL_1).count == POINTS // 4
    assert client.count(COLLECTION, count_filter=m.Filter(must=[m.HasVectorCondition(has_vector=TEXTS)])).count == 32


def test_facet_counts_equal_the_store_and_embedkits_facets(client, server):
    hits = client.facet(COLLECTION, "label", facet_filter=m.Filter(must_not=[LABEL_1])).hits
    assert {h.value: h.count for h in hits} == {0: 10, 2: 10, 3: 10}
    assert {h.value: h.count for h in client.facet(COLLECTION, "split").hits} == server.store.facet(COLLECTION, "split")


def test_query_by_vector_equals_the_store_and_embedkits_search(client, server):
    vector = query_vector(server)
    got = client.query_points(COLLECTION, query=vector, using=IMAGES, limit=7, with_payload=True).points
    same_hits(got, server.store.nearest_points(COLLECTION, IMAGES, np.array(vector), limit=7))
    embedkit = server.store.search(COLLECTION, IMAGES, np.array(vector), k=7)
    assert [p.payload["sample_id"] for p in got] == [hit.sample_id for hit in embedkit]
    assert np.allclose([p.score for p in got], [hit.score for hit in embedkit], atol=1e-5)
    assert [p.payload for p in got] == [hit.payload for hit in embedkit]
    assert got[0].payload["sample_id"] == "sample/001"


def test_query_with_filter_offset_threshold_and_vectors(client, server):
    vector = query_vector(server, TEXTS, "sample/002")
    got = client.query_points(COLLECTION, query=m.NearestQuery(nearest=vector), using=TEXTS, query_filter=RICH,
                              limit=4, offset=2, score_threshold=-0.2, with_vectors=[TEXTS],
                              with_payload=False).points
    direct = server.store.nearest_points(COLLECTION, TEXTS, np.array(vector), limit=4, offset=2, filter=RICH,
                                         score_threshold=-0.2)
    same_hits(got, direct)
    whole = server.store.nearest_points(COLLECTION, TEXTS, np.array(vector), limit=6, filter=RICH)
    assert [p.id for p in got] == [r.id for r in whole[2:6] if r.score >= -0.2]
    assert all(p.score >= -0.2 and len(p.vector[TEXTS]) == SIZES[TEXTS] for p in got)
    assert all(p.payload is None for p in got)


def test_query_by_point_id_leaves_the_point_out_and_equals_embedkits_search_by_id(client, server):
    from embedkit.retrieval.query import search

    got = client.query_points(COLLECTION, query=point_id("sample/004"), using=IMAGES, limit=5).points
    result = search(COLLECTION, sample_id="sample/004", k=5, store=server.store,
                    vector=server.store.vector(COLLECTION, IMAGES))
    assert [p.payload["sample_id"] for p in got] == [hit.sample_id for hit in result.hits]
    assert np.allclose([p.score for p in got], [hit.score for hit in result.hits], atol=1e-5)
    assert "sample/004" not in [p.payload["sample_id"] for p in got]


def test_query_without_using_searches_the_default_vector(client, server):
    vector = query_vector(server)
    assert server.store.default_vector(COLLECTION) == IMAGES
    same_hits(client.query_points(COLLECTION, query=vector, limit=3).points,
              server.store.nearest_points(COLLECTION, IMAGES, np.array(vector), limit=3))


def test_recommend_best_score_equals_embedkits_recommend(client, server):
    liked, disliked = ["sample/001", "sample/006"], ["sample/003"]
    query = m.RecommendQuery(recommend=m.RecommendInput(positive=[point_id(s) for s in liked],
                                                        negative=[point_id(s) for s in disliked],
                                                        strategy=m.RecommendStrategy.BEST_SCORE))
    got = client.query_points(COLLECTION, query=query, using=IMAGES, limit=6).points
    embedkit = server.store.recommend(COLLECTION, IMAGES, liked, disliked, k=6)
    assert [p.payload["sample_id"] for p in got] == [hit.sample_id for hit in embedkit]
    assert np.allclose([p.score for p in got], [hit.score for hit in embedkit], atol=1e-5)


def test_recommend_average_vector_searches_from_the_average_and_away_from_the_negatives(client, server):
    store = server.store
    positive = store.point_vectors(COLLECTION, IMAGES, [point_id("sample/001"), point_id("sample/002")])
    negative = np.array(query_vector(server, IMAGES, "sample/009"))
    query = m.RecommendQuery(recommend=m.RecommendInput(positive=[point_id("sample/001"), point_id("sample/002")],
                                                        negative=[negative.tolist()]))
    got = client.query_points(COLLECTION, query=query, using=IMAGES, limit=5).points
    average = positive.mean(axis=0)
    direct = store.nearest_points(COLLECTION, IMAGES, 2 * average - negative, limit=5,
                                  exclude_ids=[point_id("sample/001"), point_id("sample/002")])
    same_hits(got, direct)


def test_query_batch_answers_each_query_in_order(client, server):
    vectors = [query_vector(server, IMAGES, s) for s in ("sample/001", "sample/010")]
    requests = [m.QueryRequest(query=v, using=IMAGES, limit=3, filter=LABEL_1 if i else None)
                for i, v in enumerate(vectors)]
    answers = client.query_batch_points(COLLECTION, requests)
    for i, (vector, response) in enumerate(zip(vectors, answers)):
        same_hits(response.points, server.store.nearest_points(COLLECTION, IMAGES, np.array(vector), limit=3,
                                                               filter=LABEL_1 if i else None))


def test_the_older_search_and_search_batch_answer_as_the_query(server):
    vector = query_vector(server)
    headers = {"api-key": KEY}
    one = httpx.post(f"{server.qdrant}/collections/{COLLECTION}/points/search", headers=headers,
                     json={"vector": {"name": IMAGES, "vector": vector}, "limit": 4, "with_payload": True}).json()
    direct = server.store.nearest_points(COLLECTION, IMAGES, np.array(vector), limit=4)
    assert one["status"] == "ok" and [p["id"] for p in one["result"]] == [r.id for r in direct]
    assert one["result"][0]["payload"]["sample_id"] == "sample/001"
    batch = httpx.post(f"{server.qdrant}/collections/{COLLECTION}/points/search/batch", headers=headers,
                       json={"searches": [{"vector": {"name": IMAGES, "vector": vector}, "limit": 2}] * 2}).json()
    assert [[p["id"] for p in hits] for hits in batch["result"]] == [[r.id for r in direct[:2]]] * 2
