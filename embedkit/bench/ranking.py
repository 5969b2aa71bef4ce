"""Ranking a gallery for each query: exactly, by chunked matrix products, or through the store's index."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from embedkit.bench.metrics import relevant_ranks_batch
from embedkit.progress import ProgressListener, tell
from embedkit.store import Store

PROGRESS_EVERY = 100
"""Queries searched through the store between two reports."""


@dataclass
class ExactRanking:
    ranks: list[np.ndarray]
    """Per query: sorted 1-based ranks of its relevant gallery items."""
    top: np.ndarray
    """(queries, k) gallery indices of the best k, ties broken by index."""


def exact_ranking(
    queries: np.ndarray,
    query_labels: np.ndarray,
    gallery: np.ndarray,
    gallery_labels: np.ndarray,
    query_positions: np.ndarray | None = None,
    k: int = 10,
    chunk: int = 256,
    progress: ProgressListener | None = None,
) -> ExactRanking:
    """Score every query against the whole gallery, `chunk` queries at a time (never a full score matrix).

    `query_positions[i]` is query i's own index in the gallery (leave-one-out): it is scored -inf
    and is not relevant to itself. `progress` hears the queries ranked.
    """
    gallery = np.ascontiguousarray(gallery, dtype=np.float32)
    ranks: list[np.ndarray] = []
    tops: list[np.ndarray] = []
    for start in range(0, len(queries), chunk):
        stop = min(start + chunk, len(queries))
        # numpy's BLAS (OpenBLAS), not torch's: 1.35 x as fast on the AMD cores benchmarks/README.md names,
        # where MKL does not take its AVX-512 paths
        scores = np.matmul(np.ascontiguousarray(queries[start:stop], dtype=np.float32), gallery.T)
        scores_t = torch.from_numpy(scores)
        relevant = query_labels[start:stop, None] == gallery_labels[None, :]
        if query_positions is not None:
            rows = np.arange(stop - start)
            scores[rows, query_positions[start:stop]] = -np.inf
            relevant[rows, query_positions[start:stop]] = False
        ranks.extend(relevant_ranks_batch(scores, relevant))
        tops.append(top_k(scores_t, k))
        tell(progress, "exact ranking", stop, len(queries), "queries")
    return ExactRanking(ranks, np.concatenate(tops) if tops else np.zeros((0, k), dtype=np.int64))


def top_k(scores: torch.Tensor | np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores of each row, best first; equal scores by lower index."""
    scores = torch.as_tensor(scores)
    k = min(k, scores.shape[1])
    with torch.inference_mode():
        kth = scores.topk(k, dim=1).values[:, -1:]
    values = scores.numpy()
    rows = []
    for row, threshold in zip(values, kth.numpy()[:, 0]):
        candidates = np.flatnonzero(row >= threshold)  # every item tied with the k-th is a candidate
        rows.append(candidates[np.argsort(-row[candidates], kind="stable")[:k]])
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), k)


@dataclass
class StoreRanking:
    top_ids: list[list[str]]
    latencies: np.ndarray
    """Seconds per query."""


def store_ranking(
    store: Store,
    collection: str,
    vector_name: str,
    queries: np.ndarray,
    query_ids: Sequence[str],
    k: int,
    gallery_filter: dict | None,
    leave_one_out: bool,
    progress: ProgressListener | None = None,
) -> StoreRanking:
    """The store's own top-k (its HNSW index) for each query vector, with the latency of each query; `progress`
    hears the queries searched."""
    top_ids, latencies = [], []
    for number, (vector, sample_id) in enumerate(zip(queries, query_ids), start=1):
        started = time.perf_counter()
        hits = store.search(collection, vector_name, vector, k + 1 if leave_one_out else k, filter=gallery_filter)
        latencies.append(time.perf_counter() - started)
        ids = [hit.sample_id for hit in hits if not (leave_one_out and hit.sample_id == sample_id)]
        top_ids.append(ids[:k])
        if number % PROGRESS_EVERY == 0 or number == len(queries):
            tell(progress, "searching the store", number, len(queries), "queries")
    return StoreRanking(top_ids, np.asarray(latencies))
