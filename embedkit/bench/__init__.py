"""Measuring retrieval quality: metrics, protocols, exact and store rankings, reports.

`bench`, `BenchResult`, `BenchFailure` and the run's records (`QuerySpec`, `BuildSpec`) are imported on first
use: the CLI reads the protocols without importing torch.
"""

from embedkit.bench.metrics import (
    METRICS,
    ap_at_k,
    average_precision,
    expected_random,
    map_at_r,
    mean_metrics,
    precision_at_k,
    query_metrics,
    r_precision,
    ranks_from_relevance,
    recall_at_k,
    relevant_ranks,
)
from embedkit.lazy import lazy_exports

_FROM_RUN = ("BenchFailure", "BenchResult", "bench")
_FROM_SPEC = ("BuildSpec", "QuerySpec")

__all__ = [
    "METRICS", "BenchFailure", "BenchResult", "BuildSpec", "QuerySpec", "ap_at_k", "average_precision", "bench", "expected_random",
    "map_at_r", "mean_metrics", "precision_at_k", "query_metrics", "r_precision", "ranks_from_relevance",
    "recall_at_k", "relevant_ranks",
]


__getattr__ = lazy_exports(__name__, {**{name: "embedkit.bench.run" for name in _FROM_RUN},
                                      **{name: "embedkit.bench.spec" for name in _FROM_SPEC}})
