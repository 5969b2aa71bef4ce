"""A benchmark's queries through the store's own index: recall@10 against the exact ranking, P@10, mAP@5 and
latency."""

from __future__ import annotations

from typing import Any

import numpy as np

from embedkit.bench import metrics
from embedkit.bench.protocols import Task
from embedkit.bench.ranking import store_ranking
from embedkit.progress import ProgressListener
from embedkit.store import Store

K = 10


def label_counts(task: Task) -> np.ndarray:
    """Gallery items per label, long enough to index every query's label."""
    return np.bincount(task.gallery.labels, minlength=int(max(task.gallery.labels.max(), task.queries.labels.max())) + 1)


def evaluate_store(store: Store, collection: str, vector_name: str, task: Task, exact_top: np.ndarray,
                   gallery_split: str | None, top_ids: list[list[str]] | None = None,
                   progress: ProgressListener | None = None) -> dict[str, Any]:
    """The same queries through the store's index: recall@10 against exact, P@10, mAP@5, latency. `top_ids`, when
    given, receives each query's store top-10; `progress` hears the queries searched."""
    gallery_filter = {"split": gallery_split} if gallery_split else None
    ranking = store_ranking(store, collection, vector_name, task.queries.vectors, task.queries.ids, K,
                            gallery_filter, task.query_positions is not None, progress)
    gallery_ids = np.asarray(task.gallery.ids)
    label_of = dict(zip(task.gallery.ids, task.gallery.labels.tolist()))
    counts = label_counts(task)
    if top_ids is not None:
        top_ids.extend(ranking.top_ids)
    recalls, p10, map5, hit10 = [], [], [], []
    for i, found in enumerate(ranking.top_ids):
        exact_ids = set(gallery_ids[exact_top[i]].tolist())
        recalls.append(len(exact_ids & set(found)) / len(exact_ids))
        label = task.queries.labels[i]
        r = int(counts[label]) - (1 if task.query_positions is not None else 0)
        if r == 0:  # skipped, as the exact metrics skip it: no gallery item could be relevant
            continue
        ranks = np.flatnonzero([label_of.get(s) == label for s in found]) + 1
        p10.append(metrics.precision_at_k(ranks, K))
        map5.append(metrics.ap_at_k(ranks, 5, relevant=r))
        hit10.append(metrics.hit_at_k(ranks, K))
    return {
        "recall@10_vs_exact": float(np.mean(recalls)),
        "p@10": float(np.mean(p10)),
        "map@5": float(np.mean(map5)),
        "hit@10": float(np.mean(hit10)),
        "latency_p50_ms": float(np.percentile(ranking.latencies, 50) * 1000),
        "latency_p95_ms": float(np.percentile(ranking.latencies, 95) * 1000),
    }
