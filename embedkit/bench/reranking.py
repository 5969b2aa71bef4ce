"""Re-ranking variants of a benchmark's exact ranking: the same metrics after AQE, alpha-QE, k-reciprocal
re-ranking or Rocchio feedback, their gain over plain cosine, and their cost per query.

Every variant ranks the whole gallery, so AP and MAP@R stay defined: query expansion and Rocchio score the
whole gallery again with the new query; k-reciprocal re-orders the first `candidates` and leaves the rest in
their cosine order. Rocchio's feedback is simulated: the first `feedback` hits of the cosine ranking are
liked when they share the query's label and disliked otherwise (an oracle user, an upper bound of feedback).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from embedkit.bench import metrics
from embedkit.bench.metrics import relevant_ranks_batch
from embedkit.bench.protocols import Task
from embedkit.progress import ProgressListener, tell, within
from embedkit.retrieval.rerank import (ALPHA_QE, K_RECIPROCAL, NONE, ROCCHIO, Rerank, expand_queries,
                                       k_reciprocal_order, rocchio)

GAIN_METRICS = ("map@5", "p@10", "ap", "map@r")
CHUNK = 256


def evaluate_reranks(task: Task, methods: tuple[str, ...], plain: dict[str, float],
                     base: Rerank | None = None, progress: ProgressListener | None = None) -> dict[str, dict[str, Any]]:
    """Per method: its parameters, metrics, gain over `plain` (the cosine ranking's metrics) in GAIN_METRICS,
    and milliseconds per query (ranking the whole gallery, the cosine ranking included); `none` is the
    cosine ranking itself, timed the same way. `progress` hears each method's queries ranked."""
    out: dict[str, dict[str, Any]] = {}
    for method in methods:
        spec = Rerank(method, **({} if base is None else _params_of(base)))
        started = time.perf_counter()
        ranks = _ranks(task, spec, within(progress, f"re-ranking {method}"))
        seconds = time.perf_counter() - started
        scored = metrics.mean_metrics([metrics.query_metrics(r) for r in ranks if len(r)])
        out[method] = {
            "params": spec.params(), "metrics": scored,
            "gain": {name: scored[name] - plain[name] for name in GAIN_METRICS},
            "ms_per_query": 1000 * seconds / max(len(ranks), 1),
        }
    return out


def _params_of(spec: Rerank) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in ("neighbours", "alpha", "candidates", "k1", "k2", "lam",
                                                   "feedback", "rocchio")}


def _ranks(task: Task, spec: Rerank, progress: ProgressListener | None) -> list[np.ndarray]:
    gallery = np.ascontiguousarray(task.gallery.vectors, dtype=np.float32)
    queries = np.ascontiguousarray(task.queries.vectors, dtype=np.float32)
    out: list[np.ndarray] = []
    for start in range(0, len(queries), CHUNK):
        stop = min(start + CHUNK, len(queries))
        rows = np.arange(stop - start)
        own = None if task.query_positions is None else task.query_positions[start:stop]
        relevant = task.queries.labels[start:stop, None] == task.gallery.labels[None, :]
        if own is not None:
            relevant[rows, own] = False
        scores = _scores(queries[start:stop], gallery, own)
        if spec.method != NONE:
            scores = _rescored(spec, scores, queries[start:stop], gallery, own, relevant)
        out.extend(relevant_ranks_batch(scores, relevant))
        tell(progress, "ranking", stop, len(queries), "queries")
    return out


def _scores(queries: np.ndarray, gallery: np.ndarray, own: np.ndarray | None) -> np.ndarray:
    scores = queries @ gallery.T
    if own is not None:
        scores[np.arange(len(queries)), own] = -np.inf
    return scores


def _top(scores: np.ndarray, depth: int) -> np.ndarray:
    depth = min(depth, scores.shape[1])
    part = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _rescored(spec: Rerank, scores: np.ndarray, queries: np.ndarray, gallery: np.ndarray, own: np.ndarray | None,
              relevant: np.ndarray) -> np.ndarray:
    top = _top(scores, spec.depth(10))
    rows = np.arange(len(queries))[:, None]
    if spec.method == K_RECIPROCAL:
        from threadpoolctl import threadpool_limits

        reordered = scores.copy()
        with threadpool_limits(1):  # 101 x 101 products: BLAS threads only wait on each other (1 ms -> 300 ms on 2 busy cores)
            for i, candidates in enumerate(top):
                order = k_reciprocal_order(queries[i], gallery[candidates], spec.k1, spec.k2, spec.lam)
                # above every cosine (at most 1), in the new order; the rest keep theirs
                reordered[i, candidates[order]] = 3.0 - np.arange(len(order), dtype=np.float32) / len(order)
        return reordered
    if spec.method == ROCCHIO:
        liked = relevant[rows, top]
        moved = np.stack([rocchio(query, gallery[hits[mask]], gallery[hits[~mask]], spec.rocchio)
                          for query, hits, mask in zip(queries, top, liked)])
        return _scores(moved, gallery, own)
    expanded = expand_queries(queries, gallery[top], scores[rows, top], spec.alpha if spec.method == ALPHA_QE else None)
    return _scores(expanded, gallery, own)
