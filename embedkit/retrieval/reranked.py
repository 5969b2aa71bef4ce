"""A search re-ranked through the store: query expansion searches again, k-reciprocal re-orders the first hits."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from embedkit.errors import InvalidOptionError
from embedkit.retrieval.query import SearchResult, search
from embedkit.retrieval.rerank import ALPHA_QE, NONE, SEARCH_RERANKS, Rerank, expand_queries, k_reciprocal_order
from embedkit.store import Store, using_store


def reranked_search(collection: str, rerank: Rerank, *, k: int = 10, filter: dict[str, Any] | None = None,
                    store: Store | str | None = None, exact: bool = False, **query: Any) -> SearchResult:
    """`search` (its query given as keywords: image, sample_id, text, encoder and the encoder's options),
    re-ranked by `rerank`: AQE and alpha-QE average the query with its first `neighbours` hits and search
    again; k-reciprocal re-orders the first `candidates` hits (the k best of that order; each hit keeps
    its cosine score, so the scores need not fall)."""
    if rerank.method == NONE:
        return search(collection, k=k, filter=filter, store=store, exact=exact, **query)
    if rerank.method not in SEARCH_RERANKS:
        raise InvalidOptionError(f"search re-ranks by {', '.join(SEARCH_RERANKS)}; relevance feedback is "
                                 f"--like/--unlike (Rocchio's liked and disliked examples)")
    if query.get("like") or query.get("unlike"):
        raise InvalidOptionError("--rerank re-ranks a query by --image, --id or --text, not by --like/--unlike")
    with using_store(store) as target:
        first = search(collection, k=rerank.depth(k), filter=filter, store=target, exact=exact, **query)
        if not first.hits or first.query_vector is None:
            return dataclasses.replace(first, hits=first.hits[:k])
        ids = [hit.sample_id for hit in first.hits]
        vectors = target.get_vectors(collection, first.vector_name, ids)
        if rerank.expands:
            similarities = np.asarray([hit.score for hit in first.hits], dtype=np.float32)
            expanded = expand_queries(first.query_vector[None, :], vectors[None, :, :], similarities[None, :],
                                      rerank.alpha if rerank.method == ALPHA_QE else None)[0]
            own = first.query.get("sample_id")
            hits = target.search(collection, first.vector_name, expanded, k + (1 if own else 0), filter=filter,
                                 exact=exact)
            hits = [hit for hit in hits if hit.sample_id != own][:k]
            return dataclasses.replace(first, hits=hits, query_vector=expanded)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # products of a few hundred rows: BLAS threads only wait on each other
            order = k_reciprocal_order(first.query_vector, vectors, rerank.k1, rerank.k2, rerank.lam)
        return dataclasses.replace(first, hits=[first.hits[i] for i in order[:k]])
