"""Relevance feedback as `search --like/--unlike` runs it (Qdrant's recommend query through the store) against
Rocchio in numpy and against no feedback: the second page a simulated user gets after judging the first.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/feedback_search.py --store /tmp/fm-test-store -c fashion-mnist \
        --queries 500 --out /tmp/feedback.json

The store is copied to a temporary folder first, never written. For each of N seeded queries (stored points), the
user sees the first page (the query's 10 nearest other points by exact cosine) and marks each hit liked (same label
as the query) or disliked. The second page (10 points, never the query nor a judged point) comes from:

- plain cosine: ranks 11-20 of the exact ranking (no feedback);
- Rocchio: embedkit.retrieval.rerank.rocchio with the Rerank defaults (1, 0.75, 0.15), exact, judged points left out;
- recommend: `Store.recommend` as `search --like Q --like L... --unlike D...` calls it (positive: the query and the
  liked ids; negative: the disliked ids; k 10; the store leaves the examples out);
- recommend, liked only: the same without --unlike. The store then leaves out only the positives, so it is asked
  for 10 + the disliked and the disliked are dropped; "judged back" counts the queries whose plain k-10 call would
  have shown a disliked point again.

Relevant = same label. P@10 and mAP@5 of the second page as embedkit bench scores a store's top-k
(embedkit.bench.metrics; mAP@5 over min(5, R), R = the relevant points not yet seen); the Δ columns are the mean
paired difference per query and its 95 % half-width. ms: the median per query of the numpy ranking of the whole
collection on one BLAS thread (plain, Rocchio) or of the store call alone (recommend).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from embedkit.analysis.vectors import stored_vectors
from embedkit.bench import metrics
from embedkit.retrieval.rerank import Rerank, rocchio
from embedkit.store import open_store

PAGE = 10
LABELS = {"plain": "plain cosine (ranks 11-20)", "rocchio": "Rocchio (numpy)",
          "recommend": "recommend --like --unlike", "recommend-liked": "recommend --like only"}
METHODS = tuple(LABELS)


def top_outside(scores: np.ndarray, seen: np.ndarray, n: int) -> np.ndarray:
    """The n best positions by score, ties to the lower position, none of `seen` (fewer where too few are left)."""
    scores = scores.copy()
    scores[seen] = -np.inf
    return np.argsort(-scores, kind="stable")[: min(n, len(scores) - len(seen))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True,
                        help="An embedded store folder (copied, never written), e.g. one `embedkit ingest` filled.")
    parser.add_argument("-c", "--collection", default="fashion-mnist")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    weights = Rerank("rocchio").rocchio
    with tempfile.TemporaryDirectory(prefix="embedkit-feedback-") as folder:
        location = Path(folder) / "store"
        shutil.copytree(args.store, location)
        with open_store(location) as store, threadpool_limits(1):  # numpy's 2 BLAS threads wait on each other when busy
            vector = store.vector(args.collection).name
            points = stored_vectors(store, args.collection, vector, None)
            ids, vectors, labels = points.ids, points.vectors, points.labels
            counts = np.bincount(labels)
            position = {sample_id: i for i, sample_id in enumerate(ids)}
            chosen = np.random.default_rng(args.seed).choice(len(ids), min(args.queries, len(ids)), replace=False)
            pages: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
            spent: dict[str, list[float]] = {m: [] for m in METHODS}
            relevant_left: list[int] = []
            judged_back = dict.fromkeys(METHODS, 0)  # queries whose k-10 call returned the query or a judged point
            no_liked = first_p10 = 0
            for q in chosen.tolist():
                started = time.perf_counter()
                scores = vectors @ vectors[q]
                order = top_outside(scores, np.array([q]), 2 * PAGE)
                spent[METHODS[0]].append(time.perf_counter() - started)
                first = order[:PAGE]
                liked_mask = labels[first] == labels[q]
                liked, disliked = first[liked_mask], first[~liked_mask]
                no_liked += not len(liked)
                first_p10 += len(liked) / PAGE
                seen = np.concatenate([[q], first])
                relevant_left.append(int(counts[labels[q]]) - 1 - len(liked))
                pages[METHODS[0]].append(order[PAGE:])

                started = time.perf_counter()
                moved = rocchio(vectors[q], vectors[liked], vectors[disliked], weights)
                pages[METHODS[1]].append(top_outside(vectors @ moved, seen, PAGE))
                spent[METHODS[1]].append(time.perf_counter() - started)

                positive = [ids[q], *(ids[i] for i in liked)]
                negative = [ids[i] for i in disliked]
                started = time.perf_counter()
                hits = store.recommend(args.collection, vector, positive, negative, PAGE)
                spent[METHODS[2]].append(time.perf_counter() - started)
                pages[METHODS[2]].append(np.array([position[h.sample_id] for h in hits], dtype=int))
                for method in METHODS[:3]:
                    judged_back[method] += bool(np.isin(pages[method][-1], seen).any())

                started = time.perf_counter()
                hits = store.recommend(args.collection, vector, positive, (), PAGE + len(disliked))
                spent[METHODS[3]].append(time.perf_counter() - started)
                found, dropped = [position[h.sample_id] for h in hits], set(disliked.tolist())
                judged_back[METHODS[3]] += bool(np.isin(found[:PAGE], seen).any())
                pages[METHODS[3]].append(np.array([i for i in found if i not in dropped][:PAGE], dtype=int))

    scored = [i for i, r in enumerate(relevant_left) if r > 0]  # no relevant point left: no metrics, as bench skips it
    per_query: dict[str, dict[str, np.ndarray]] = {}
    for method in METHODS:
        ranks = [metrics.ranks_from_relevance(labels[pages[method][i]] == labels[chosen[i]]) for i in scored]
        per_query[method] = {"p@10": np.array([metrics.precision_at_k(r, PAGE) for r in ranks]),
                             "map@5": np.array([metrics.ap_at_k(r, 5, relevant=relevant_left[i])
                                                for r, i in zip(ranks, scored)])}

    def delta(method: str, against: str, name: str) -> tuple[float, float]:
        """The mean paired difference and its 95 % half-width (normal approximation)."""
        differences = per_query[method][name] - per_query[against][name]
        return float(differences.mean()), float(1.96 * differences.std(ddof=1) / np.sqrt(len(differences)))

    print(f"{args.collection} / {vector}: {len(ids):,} points, {len(chosen)} queries (seed {args.seed}), "
          f"{len(chosen) - len(scored)} without a relevant point left; first page P@10 {first_p10 / len(chosen):.4f}; "
          f"{no_liked} with no liked hit on the first page")
    print("| second page from | P@10 | mAP@5 | ΔP@10 vs plain | ΔmAP@5 vs plain | ΔP@10 vs Rocchio "
          "| ΔmAP@5 vs Rocchio | median ms | judged back |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for method in METHODS:
        row = {"method": method, **{name: float(values.mean()) for name, values in per_query[method].items()},
               "median_ms": float(np.median(spent[method]) * 1000), "queries_judged_back": judged_back[method]}
        shown = []
        for against in METHODS[:2]:
            for name in ("p@10", "map@5"):
                if method == against:
                    shown.append("")
                    continue
                mean, half = delta(method, against, name)
                row[f"{name}_vs_{against}"] = {"mean": mean, "ci95": half}
                shown.append(f"{mean:+.4f} ± {half:.4f}")
        rows.append(row)
        print(f"| {LABELS[method]} | {row['p@10']:.4f} | {row['map@5']:.4f} | {' | '.join(shown)} "
              f"| {row['median_ms']:.2f} | {row['queries_judged_back']} |")
    if args.out:
        args.out.write_text(json.dumps({
            "collection": args.collection, "vector": vector, "points": len(ids), "queries": len(chosen),
            "seed": args.seed, "scored_queries": len(scored), "queries_without_liked_hit": no_liked,
            "first_page_p@10": first_p10 / len(chosen),
            "rocchio_weights": list(weights), "rows": rows, "machine": platform.platform()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
