"""Re-ranking and query expansion of a first ranking, on unit vectors (cosine similarity), in numpy.

- AQE (average query expansion, Chum et al. 2007): the query plus its `neighbours` best hits, averaged and
  normalised, searches again.
- alpha-QE (Radenovic et al. 2018): the same with each hit weighted by its similarity to the query to the power
  `alpha` (the query weighs 1); alpha = 0 is AQE.
- k-reciprocal (Zhong et al. 2017): the `candidates` best hits are re-ordered by the Jaccard distance of their
  k-reciprocal neighbour sets (k1, local expansion over k2), mixed with the original distance by `lam`.
  Computed on the candidate set only (query + candidates), never on the whole collection: the result is a
  permutation of the candidates.
- Rocchio (relevance feedback): alpha * query + beta * mean(liked) - gamma * mean(disliked), normalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embedkit.errors import InvalidOptionError

NONE = "none"
AQE = "aqe"
ALPHA_QE = "alpha-qe"
K_RECIPROCAL = "k-reciprocal"
ROCCHIO = "rocchio"
RERANKS = (NONE, AQE, ALPHA_QE, K_RECIPROCAL, ROCCHIO)
SEARCH_RERANKS = (AQE, ALPHA_QE, K_RECIPROCAL)
"""Rocchio needs liked and disliked examples: `search --like/--unlike`; bench simulates them from labels."""


@dataclass(frozen=True)
class Rerank:
    """A re-ranking method and its parameters (the ones its method does not use are ignored)."""

    method: str = NONE
    neighbours: int = 5
    """AQE, alpha-QE: the best hits averaged into the query."""
    alpha: float = 3.0
    """alpha-QE: the power of each hit's similarity that weighs it."""
    candidates: int = 100
    """k-reciprocal: the best hits re-ordered."""
    k1: int = 20
    k2: int = 6
    lam: float = 0.3
    """k-reciprocal: the weight of the original distance (1 - lam: the Jaccard distance)."""
    feedback: int = 10
    """Rocchio in bench: the best hits a (simulated) user marks liked (same label) or disliked."""
    rocchio: tuple[float, float, float] = (1.0, 0.75, 0.15)
    """Rocchio's alpha, beta, gamma (the SMART defaults)."""

    def __post_init__(self) -> None:
        if self.method not in RERANKS:
            raise InvalidOptionError(f"unknown re-ranking {self.method!r}; use one of {', '.join(RERANKS)}")
        for name in ("neighbours", "candidates", "k1", "k2", "feedback"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidOptionError(f"re-ranking {name} must be a whole number of at least 1, got {value!r}")
        if not 0.0 <= self.lam <= 1.0:
            raise InvalidOptionError(f"re-ranking lam must be from 0 to 1, got {self.lam!r}")
        if self.alpha < 0:
            raise InvalidOptionError(f"alpha-QE's alpha must be 0 or more, got {self.alpha!r}")

    def params(self) -> dict[str, Any]:
        """The parameters the method uses, for the result files."""
        return {AQE: {"neighbours": self.neighbours},
                ALPHA_QE: {"neighbours": self.neighbours, "alpha": self.alpha},
                K_RECIPROCAL: {"candidates": self.candidates, "k1": self.k1, "k2": self.k2, "lambda": self.lam},
                ROCCHIO: {"feedback": self.feedback, "alpha": self.rocchio[0], "beta": self.rocchio[1],
                          "gamma": self.rocchio[2]},
                NONE: {}}[self.method]

    @property
    def expands(self) -> bool:
        """Whether the method searches again with a new query (else it re-orders the first hits)."""
        return self.method in (AQE, ALPHA_QE, ROCCHIO)

    def depth(self, k: int) -> int:
        """How many first hits the method reads."""
        return {AQE: self.neighbours, ALPHA_QE: self.neighbours, K_RECIPROCAL: max(self.candidates, k),
                ROCCHIO: self.feedback, NONE: k}[self.method]


def parse_reranks(text: str | None) -> tuple[str, ...]:
    """`none,aqe,...` as a tuple in RERANKS order, `none` always first (the baseline the gains are against)."""
    names = {name.strip().lower() for name in (text or NONE).split(",") if name.strip()}
    unknown = sorted(names - set(RERANKS))
    if unknown:
        raise InvalidOptionError(f"unknown re-ranking {', '.join(unknown)}; use any of {', '.join(RERANKS)} "
                                 f"(comma-separated)")
    return tuple(name for name in RERANKS if name in names | {NONE})


def normalized(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1)).astype(np.float32)


def expand_queries(queries: np.ndarray, neighbours: np.ndarray, similarities: np.ndarray,
                   alpha: float | None = None) -> np.ndarray:
    """AQE (alpha None) or alpha-QE: (q, d) queries, their (q, n, d) best hits and (q, n) similarities ->
    (q, d) expanded unit queries. Negative similarities weigh 0 in alpha-QE."""
    weights = np.ones(similarities.shape, dtype=np.float32) if alpha is None else \
        np.power(np.clip(similarities, 0, None), alpha).astype(np.float32)
    summed = queries + np.einsum("qn,qnd->qd", weights, neighbours)
    return normalized(summed)


def rocchio(query: np.ndarray, liked: np.ndarray, disliked: np.ndarray,
            weights: tuple[float, float, float] = (1.0, 0.75, 0.15)) -> np.ndarray:
    """The Rocchio query from one (d,) query and (m, d) liked and disliked examples (either may be empty)."""
    alpha, beta, gamma = weights
    moved = alpha * query
    if len(liked):
        moved = moved + beta * liked.mean(axis=0)
    if len(disliked):
        moved = moved - gamma * disliked.mean(axis=0)
    return normalized(moved)


def k_reciprocal_order(query: np.ndarray, candidates: np.ndarray, k1: int = 20, k2: int = 6,
                       lam: float = 0.3) -> np.ndarray:
    """The candidates' order (indices into `candidates`, best first) by Zhong et al.'s re-ranking distance,
    computed among the query and the candidates alone. Ties keep the first order."""
    points = np.vstack([query[None, :], candidates]).astype(np.float32)
    n = len(points)
    distance = np.clip(2.0 - 2.0 * (points @ points.T), 0.0, None)  # squared Euclidean of unit vectors
    distance = distance / np.maximum(distance.max(axis=0, keepdims=True), 1e-12)
    distance = distance.T
    rank = np.argsort(distance, axis=1, kind="stable")
    k1, k2 = min(k1, n - 1), min(k2, n)
    reciprocal = _reciprocal(rank, k1)
    half = _reciprocal(rank, int(np.around(k1 / 2)))
    # a half-k1 set joins i's set when more than 2/3 of it lies in i's set (Zhong et al.'s expansion)
    overlap = reciprocal.astype(np.float32) @ half.T.astype(np.float32)  # [i, j] = |R(i) & H(j)|
    joins = reciprocal & (overlap > 2 / 3 * half.sum(axis=1)[None, :])
    expanded = reciprocal | ((joins.astype(np.float32) @ half.astype(np.float32)) > 0)
    weights = np.where(expanded, np.exp(-distance), 0.0).astype(np.float32)
    weights /= weights.sum(axis=1, keepdims=True)
    if k2 > 1:
        weights = weights[rank[:, :k2]].mean(axis=1)
    shared = np.minimum(weights[0][None, :], weights).sum(axis=1)
    jaccard = 1.0 - shared / (2.0 - shared)
    final = jaccard * (1 - lam) + distance[0] * lam
    return np.argsort(final[1:], kind="stable")


def _reciprocal(rank: np.ndarray, k: int) -> np.ndarray:
    """(n, n) booleans: [i, j] when j is among i's k + 1 nearest and i among j's (i's k-reciprocal set)."""
    n = len(rank)
    near = np.zeros((n, n), dtype=bool)
    near[np.arange(n)[:, None], rank[:, : k + 1]] = True
    return near & near.T
