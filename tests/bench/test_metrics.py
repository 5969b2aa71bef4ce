"""Metrics: known answers computed by hand, and cross-checks against independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from embedkit.bench import metrics
from embedkit.bench.metrics import (
    ap_at_k,
    average_precision,
    expected_random,
    map_at_r,
    precision_at_k,
    r_precision,
    ranks_from_relevance,
    recall_at_k,
    relevant_ranks,
)
from embedkit.errors import InvalidOptionError


def test_hand_computed_ranking_with_every_relevant_item_retrieved():
    ranks = ranks_from_relevance([1, 0, 1, 0, 0, 1])  # R = 3 at ranks 1, 3, 6
    assert ranks.tolist() == [1, 3, 6]
    assert precision_at_k(ranks, 1) == 1.0
    assert precision_at_k(ranks, 5) == pytest.approx(2 / 5)
    assert precision_at_k(ranks, 10) == pytest.approx(3 / 10)
    assert recall_at_k(ranks, 5) == pytest.approx(2 / 3)
    assert ap_at_k(ranks, 5) == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert average_precision(ranks) == pytest.approx((1 / 1 + 2 / 3 + 3 / 6) / 3)
    assert r_precision(ranks) == pytest.approx(2 / 3)
    assert map_at_r(ranks) == pytest.approx((1 + 2 / 3) / 3)


def test_ap_at_k_divides_by_min_k_and_r():
    one_relevant = ranks_from_relevance([1, 0, 0, 0, 0, 0])
    assert ap_at_k(one_relevant, 5) == 1.0  # min(5, R=1) = 1
    many = ranks_from_relevance([0, 1, 1, 0, 1] + [1] * 10)  # R = 13
    assert ap_at_k(many, 5) == pytest.approx((1 / 2 + 2 / 3 + 3 / 5) / 5)
    late = ranks_from_relevance([0, 0, 0, 0, 0, 1, 1])
    assert ap_at_k(late, 5) == 0.0
    assert average_precision(late) == pytest.approx((1 / 6 + 2 / 7) / 2)
    # a store's top-k alone: R comes from the labels
    assert ap_at_k(np.array([1, 3]), 5, relevant=4) == pytest.approx((1 + 2 / 3) / 4)


def test_ties_are_broken_by_index_the_same_way_on_both_paths():
    scores = np.array([0.5, 0.9, 0.5, 0.1], dtype=np.float32)
    assert relevant_ranks(scores, np.array([False, False, True, False])).tolist() == [3]
    assert relevant_ranks(scores, np.array([True, False, False, False])).tolist() == [2]
    distinct = np.array([0.2, 0.9, 0.5, 0.1], dtype=np.float32)
    assert relevant_ranks(distinct, np.array([True, False, True, True])).tolist() == [2, 3, 4]


def test_the_query_itself_scored_minus_infinity_ranks_last():
    scores = np.array([-np.inf, 0.3, 0.8, 0.1], dtype=np.float32)
    assert relevant_ranks(scores, np.array([False, True, False, True])).tolist() == [2, 3]


@pytest.mark.parametrize("seed", range(5))
def test_the_radix_ranks_equal_a_comparison_sort_by_score_then_index(seed):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.standard_normal(5000), 2).astype(np.float32)  # hundreds of ties
    scores[rng.choice(5000, 40, replace=False)] = rng.choice(np.array([0.0, -0.0, 1.0, -1.0, -np.inf], np.float32), 40)
    scores[:300] = rng.standard_normal(300).astype(np.float32) * np.float32(1e-30)  # subnormal and tiny, both signs
    relevant = (rng.random(5000) < 0.3) & np.isfinite(scores)
    order = np.lexsort((np.arange(5000), -(scores.astype(np.float64) + 0.0)))  # score descending, then index
    expected = np.flatnonzero(relevant[order]) + 1
    np.testing.assert_array_equal(relevant_ranks(scores, relevant), expected)


def random_problem(seed: int, gallery: int = 300):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal(gallery).astype(np.float32)
    relevant = rng.random(gallery) < 0.2
    relevant[0] = True
    return scores, relevant


@pytest.mark.parametrize("seed", range(5))
def test_whole_ranking_ap_matches_scikit_learn(seed):
    scores, relevant = random_problem(seed)
    ours = average_precision(relevant_ranks(scores, relevant))
    assert ours == pytest.approx(average_precision_score(relevant, scores), abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_metrics_agree_with_torchmetrics_where_the_definitions_agree(seed):
    from torchmetrics.functional.retrieval import (
        retrieval_average_precision,
        retrieval_precision,
        retrieval_r_precision,
        retrieval_recall,
    )

    scores, relevant = random_problem(seed)
    scores = scores - scores.min() + 0.01  # torchmetrics drops items scored <= 0 from its AP
    assert scores.min() > 0
    ranks = relevant_ranks(scores, relevant)
    preds, target = torch.from_numpy(scores.astype(np.float64)), torch.from_numpy(relevant)
    assert average_precision(ranks) == pytest.approx(float(retrieval_average_precision(preds, target)), abs=1e-6)
    assert r_precision(ranks) == pytest.approx(float(retrieval_r_precision(preds, target)), abs=1e-6)
    for k in (1, 5, 10):
        assert precision_at_k(ranks, k) == pytest.approx(float(retrieval_precision(preds, target, top_k=k)))
        assert recall_at_k(ranks, k) == pytest.approx(float(retrieval_recall(preds, target, top_k=k)))


def test_where_torchmetrics_ap_at_k_differs_it_divides_by_the_relevant_items_retrieved():
    from torchmetrics.functional.retrieval import retrieval_average_precision

    relevance = np.array([1, 0, 0, 0, 0, 1, 1, 1])  # R = 4, one relevant in the top 5
    scores = torch.linspace(1, 0, len(relevance), dtype=torch.float64)
    ranks = ranks_from_relevance(relevance)
    assert ap_at_k(ranks, 5) == pytest.approx(1 / 4)  # ours: / min(k, R)
    assert float(retrieval_average_precision(scores, torch.from_numpy(relevance.astype(bool)), top_k=5)) == \
        pytest.approx(1.0)  # torchmetrics: / relevant items retrieved in the top k


def test_expected_random_values_match_simulated_random_rankings():
    rng = np.random.default_rng(0)
    gallery, relevant = 60, 9
    simulated = [metrics.query_metrics(np.sort(rng.choice(gallery, relevant, replace=False)) + 1)
                 for _ in range(20000)]
    mean = metrics.mean_metrics(simulated)
    expected = expected_random(relevant, gallery)
    for name in ("map@5", "p@10", "ap", "r_precision", "map@r", "recall@5", "hit@1", "hit@5", "hit@10"):
        assert mean[name] == pytest.approx(expected[name], rel=0.03), name


@pytest.mark.parametrize("seed", range(3))
def test_hit_at_k_is_torchmetrics_hit_rate_and_the_metric_learning_recall_at_k(seed):
    from torchmetrics.functional.retrieval import retrieval_hit_rate

    scores, relevant = random_problem(seed)
    ranks = relevant_ranks(scores, relevant)
    order = np.argsort(-scores, kind="stable")
    for k in (1, 5, 10):
        preds, target = torch.from_numpy(scores.astype(np.float64)), torch.from_numpy(relevant)
        assert metrics.hit_at_k(ranks, k) == float(retrieval_hit_rate(preds, target, top_k=k))
        assert metrics.hit_at_k(ranks, k) == float(relevant[order[:k]].any())  # any relevant item in the top k
    assert metrics.query_metrics(ranks)["hit@1"] == metrics.query_metrics(ranks)["p@1"]


def test_a_query_without_relevant_items_is_refused():
    with pytest.raises(InvalidOptionError, match="no relevant item"):
        metrics.query_metrics(np.zeros(0, dtype=np.int64))
    with pytest.raises(InvalidOptionError, match="nothing to score"):
        metrics.mean_metrics([])


def test_interpolated_precision_is_the_best_precision_at_or_beyond_each_recall():
    curve = metrics.interpolated_precision(ranks_from_relevance([1, 0, 1, 0, 0, 1]))
    # precisions 1, 2/3, 1/2 at recalls 1/3, 2/3, 1
    assert curve[0] == 1.0 and curve[3] == 1.0
    assert curve[4] == pytest.approx(2 / 3) and curve[6] == pytest.approx(2 / 3)
    assert curve[7] == pytest.approx(0.5) and curve[10] == pytest.approx(0.5)


def test_the_batched_ranks_equal_the_row_by_row_ranks_with_and_without_ties():
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((9, 200)).astype(np.float32)
    scores[2, :50] = 0.25  # a row with many ties
    scores[4, 7] = -np.inf  # a query left out of its own gallery
    relevant = rng.random((9, 200)) < 0.3
    relevant[4, 7] = False
    relevant[6] = False  # a row with no relevant item
    batched = metrics.relevant_ranks_batch(scores, relevant, threads=2)
    for row in range(9):
        np.testing.assert_array_equal(batched[row], relevant_ranks(scores[row], relevant[row]))
    assert len(batched[6]) == 0


def test_the_pr_curve_counts_recall_levels_reached_exactly():
    ranks = np.array([1, 2, 3, 20, 21, 22, 23, 24, 25, 26])  # R = 10, the first three at the top
    curve = metrics.interpolated_precision(ranks)
    assert curve[3] == 1.0  # recall 0.3 is reached at rank 3 with precision 1


def test_scores_that_are_not_float32_are_ranked_exactly_too():
    scores = np.array([1.0, 1.0 + 1e-12, 0.5, 1.0 + 1e-12, -np.inf])  # ties in float32, not in float64
    relevant = np.array([True, False, True, True, False])
    assert relevant_ranks(scores, relevant).tolist() == [2, 3, 4]
