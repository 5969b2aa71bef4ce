"""What `search --rerank` costs through the store: median milliseconds of a query by stored id, plain and with each
re-ranking, on a stored collection (no model is loaded: the queries are stored vectors).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/rerank_search_cost.py --qdrant /tmp/e-fm -c fashion-mnist --queries 100
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from embedkit.retrieval.rerank import SEARCH_RERANKS, Rerank
from embedkit.retrieval.reranked import reranked_search
from embedkit.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qdrant", required=True)
    parser.add_argument("-c", "--collection", required=True)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with open_store(args.qdrant) as store:
        vector = store.vector(args.collection).name
        ids = store.stored_ids(args.collection, vector)
        chosen = [ids[i] for i in np.random.default_rng(args.seed).choice(len(ids), args.queries, replace=False)]
        print(f"{args.collection} / {vector}: {len(ids):,} points, {len(chosen)} queries by stored id, k={args.k}")
        print("| method | median ms | p95 ms |")
        print("|---|---:|---:|")
        for method in ("none", *SEARCH_RERANKS):
            spent = []
            for sample_id in chosen:
                started = time.perf_counter()
                reranked_search(args.collection, Rerank(method), sample_id=sample_id, k=args.k, store=store)
                spent.append(time.perf_counter() - started)
            print(f"| {method} | {np.median(spent) * 1000:.1f} | {np.percentile(spent, 95) * 1000:.1f} |")


if __name__ == "__main__":
    main()
