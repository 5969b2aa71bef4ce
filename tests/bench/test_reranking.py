"""Bench's re-ranking variants: `none` is bench's own cosine ranking, each variant ranks the whole gallery,
and the variants go into the result files and tables."""

from __future__ import annotations

import json

import pytest

from embedkit.bench import QuerySpec
from embedkit.bench.protocols import make_task
from embedkit.bench.report import markdown
from embedkit.bench.reranking import evaluate_reranks
from embedkit.bench.run import evaluate
from embedkit.retrieval.rerank import RERANKS
from embedkit.store import open_store
from tests.bench.test_run import clustered, fill


@pytest.fixture
def task():
    store = open_store(":memory:")
    vectors, labels = clustered(n=90, dim=8, classes=3)
    fill(store, vectors, labels)
    return make_task(store, "c", "v", "leave-one-out")


def test_none_is_the_plain_cosine_ranking_with_zero_gain(task):
    plain = evaluate(task, 0)[0]
    scored = evaluate_reranks(task, ("none",), plain)["none"]
    assert scored["metrics"] == plain
    assert all(gain == 0 for gain in scored["gain"].values())


def test_every_variant_ranks_the_whole_gallery_and_reports_its_gain_and_cost(task):
    plain = evaluate(task, 0)[0]
    scored = evaluate_reranks(task, RERANKS, plain)
    for method, entry in scored.items():
        assert entry["ms_per_query"] > 0
        assert entry["gain"]["map@5"] == pytest.approx(entry["metrics"]["map@5"] - plain["map@5"])
        # recall@10 over a whole ranking: every relevant item has a rank, so R-precision and AP are defined
        assert 0 < entry["metrics"]["ap"] <= 1
    assert scored["k-reciprocal"]["params"] == {"candidates": 100, "k1": 20, "k2": 6, "lambda": 0.3}


def test_k_reciprocal_only_reorders_its_candidates(task):
    """With one candidate there is nothing to re-order: the metrics are plain cosine's exactly."""
    from embedkit.retrieval.rerank import Rerank

    plain = evaluate(task, 0)[0]
    scored = evaluate_reranks(task, ("k-reciprocal",), plain, Rerank("k-reciprocal", candidates=1))
    assert scored["k-reciprocal"]["metrics"] == plain


def test_the_run_spec_puts_none_first_and_the_summary_has_a_row_per_variant():
    from embedkit.bench.run import run_spec
    from embedkit.bench.spec import BuildSpec

    spec = run_spec(None, None, QuerySpec(reranks=("aqe",)), BuildSpec(), {})
    assert spec.reranks == ("none", "aqe")
    store = open_store(":memory:")
    vectors, labels = clustered(n=60)
    fill(store, vectors, labels)
    task = make_task(store, "c", "v", "leave-one-out")
    plain = evaluate(task, 0)[0]
    result = {"dataset": "d", "encoder": "e", "protocol": "leave-one-out", "metrics": plain, "query_split": None,
              "gallery_split": None, "dim": 8, "queries": 60, "gallery": 60, "random_expected": plain,
              "reranks": evaluate_reranks(task, spec.reranks, plain)}
    table = markdown([json.loads(json.dumps(result))])
    assert "| e + aqe |" in table.replace("  ", " ")
