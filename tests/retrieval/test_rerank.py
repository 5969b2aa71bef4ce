"""Re-ranking and query expansion: the math on known vectors, and `search --rerank` through a store."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.errors import InvalidOptionError
from embedkit.records import VectorRecord
from embedkit.retrieval.rerank import (AQE, K_RECIPROCAL, Rerank, expand_queries, k_reciprocal_order,
                                       normalized, parse_reranks, rocchio)
from embedkit.retrieval.reranked import reranked_search
from embedkit.store import open_store


def clustered(count: int = 60, dim: int = 16, clusters: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    labels = np.arange(count) % clusters
    return normalized(centres[labels] + 0.6 * rng.normal(size=(count, dim))), labels


def test_k_reciprocal_returns_a_permutation_of_the_same_candidates():
    vectors, _ = clustered()
    order = k_reciprocal_order(vectors[0], vectors[1:41], k1=10, k2=3)
    assert sorted(order.tolist()) == list(range(40))


def test_k_reciprocal_with_lambda_one_keeps_the_cosine_order():
    vectors, _ = clustered()
    candidates = vectors[1:31]
    cosine = np.argsort(-(candidates @ vectors[0]), kind="stable")
    assert k_reciprocal_order(vectors[0], candidates, k1=10, k2=3, lam=1.0).tolist() == cosine.tolist()


def test_average_query_expansion_is_the_normalised_sum_and_alpha_zero_is_the_same():
    query = normalized(np.array([[1.0, 0.0]]))
    hits = normalized(np.array([[[0.0, 1.0], [1.0, 1.0]]]))
    similarities = (hits @ query[0])
    expected = normalized(query[0] + hits[0].sum(axis=0))
    assert np.allclose(expand_queries(query, hits, similarities), expected)
    assert np.allclose(expand_queries(query, hits, similarities, alpha=0.0), expected)
    # alpha-QE: a hit with similarity 0 weighs nothing
    assert np.allclose(expand_queries(query, hits, similarities, alpha=3.0),
                       normalized(query[0] + similarities[0, 1] ** 3 * hits[0, 1]))


def test_rocchio_moves_towards_the_liked_and_away_from_the_disliked():
    query = np.array([1.0, 0.0], dtype=np.float32)
    moved = rocchio(query, np.array([[0.0, 1.0]]), np.array([[0.0, -1.0]]), (1.0, 0.75, 0.15))
    assert np.allclose(moved, normalized(np.array([1.0, 0.75 + 0.15])))


@pytest.mark.parametrize("text, says", [("aqe,bogus", "unknown re-ranking bogus"), ("", None)])
def test_the_rerank_list_is_checked_and_always_starts_with_none(text, says):
    if says:
        with pytest.raises(InvalidOptionError, match=says):
            parse_reranks(text)
    else:
        assert parse_reranks("k-reciprocal,aqe") == ("none", "aqe", "k-reciprocal")
        assert parse_reranks(text) == ("none",)


@pytest.mark.parametrize("field, value", [("candidates", 0), ("lam", 1.5), ("method", "dba")])
def test_bad_rerank_parameters_are_refused_in_one_line(field, value):
    with pytest.raises(InvalidOptionError, match="re-ranking|lam"):
        Rerank(**{"method": AQE, field: value})


@pytest.fixture
def store_path(tmp_path):
    vectors, labels = clustered(count=90, dim=16)
    ids = [f"p{i}" for i in range(len(vectors))]
    with open_store(tmp_path / "store") as store:
        store.ensure_vector("points", "enc", VectorRecord("enc", 16, "image"))
        store.upsert("points", "enc", ids, vectors, [{"split": "all", "label": int(label)} for label in labels])
    return tmp_path / "store"


def test_k_reciprocal_search_returns_the_same_candidates_as_plain_search_reordered(store_path):
    plain = reranked_search("points", Rerank(), sample_id="p0", k=20, store=store_path, exact=True)
    reordered = reranked_search("points", Rerank(K_RECIPROCAL, candidates=20, k1=5, k2=2), sample_id="p0", k=20,
                                store=store_path, exact=True)
    assert sorted(h.sample_id for h in plain.hits) == sorted(h.sample_id for h in reordered.hits)
    assert "p0" not in {h.sample_id for h in reordered.hits}


def test_query_expansion_searches_again_with_the_expanded_vector_and_leaves_the_query_out(store_path):
    with open_store(store_path) as store:
        result = reranked_search("points", Rerank(AQE, neighbours=3), sample_id="p0", k=5, store=store, exact=True)
        first = reranked_search("points", Rerank(), sample_id="p0", k=3, store=store, exact=True)
        own = store.get_vectors("points", "enc", ["p0"])[0]
        neighbours = store.get_vectors("points", "enc", [h.sample_id for h in first.hits])
    assert np.allclose(result.query_vector, normalized(own + neighbours.sum(axis=0)), atol=1e-5)
    assert "p0" not in {h.sample_id for h in result.hits} and len(result.hits) == 5


def test_search_cli_reranks_and_names_the_method_in_json(store_path):
    outcome = CliRunner().invoke(main, ["search", "-c", "points", "--id", "p1", "-k", "4", "--rerank", "alpha-qe",
                                        "--rerank-depth", "3", "--qdrant", str(store_path), "--json"])
    assert outcome.exit_code == 0, outcome.output
    document = json.loads(outcome.output)
    assert document["rerank"] == {"method": "alpha-qe", "neighbours": 3, "alpha": 3.0}
    assert len(document["hits"]) == 4


def test_search_cli_names_the_reranking_in_its_table_and_what_the_scores_are(store_path):
    outcome = CliRunner().invoke(main, ["search", "-c", "points", "--id", "p1", "-k", "4", "--rerank", "k-reciprocal",
                                        "--qdrant", str(store_path)], terminal_width=200)
    assert outcome.exit_code == 0, outcome.output
    assert "re-ranked by k-reciprocal; score: cosine to the query, so it need not fall" in " ".join(
        outcome.output.split())  # the title wraps to the table's width
    plain = CliRunner().invoke(main, ["search", "-c", "points", "--id", "p1", "-k", "4", "--qdrant", str(store_path)])
    assert plain.exit_code == 0 and "re-ranked" not in plain.output


def test_rerank_of_examples_is_refused_in_one_line(store_path):
    outcome = CliRunner().invoke(main, ["search", "-c", "points", "--like", "p1", "--rerank", "aqe",
                                        "--qdrant", str(store_path)])
    assert outcome.exit_code != 0
    assert "--rerank re-ranks a query by --image, --id or --text" in outcome.output
