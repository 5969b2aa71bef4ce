"""How well `embedkit mistakes` finds labels flipped on purpose, against a random ranking and the "kNN disagrees" rule.

    .venv/bin/python benchmarks/mistakes.py --store /tmp/fm-test-store --rates 0.05 0.2 --out results.json

The store (e.g. the 10,000 Fashion-MNIST test images embedded by EfficientNet-Lite0: `embedkit ingest fashion-mnist
--split test --encoder efficientnet-lite0 --qdrant /tmp/fm-test-store`) is copied, never written; in each copy
a seeded fraction of the labels is moved to another class drawn at random. Then, for each classifier:

- top-N: the N points ranked most probably wrong (N = the number flipped, so precision = recall there), and at
  N/2 and 2N;
- flagged: the set confident learning (cleanlab's find_label_issues) flags, its precision and recall;
- random: a seeded random ranking's top-N (its expected precision is the flipped fraction);
- kNN disagrees: the set of points whose 10 nearest neighbours (leave-one-out, distance-weighted) vote for
  another label than the given one.
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

from embedkit.analysis.mistakes import find_mistakes
from embedkit.analysis.out_of_fold import out_of_fold
from embedkit.analysis.vectors import stored_vectors
from embedkit.store import open_store


def flip(location: Path, collection: str, rate: float, seed: int) -> set[str]:
    """Move a `rate` share of the labels to another class (seeded); the ids flipped."""
    with open_store(location) as store:
        vector = store.vector(collection).name
        points = stored_vectors(store, collection, vector, None)
        classes = sorted(points.label_names)
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(points.ids), round(rate * len(points.ids)), replace=False)
        changes = {}
        for n in chosen.tolist():
            others = [c for c in classes if c != points.labels[n]]
            new = int(rng.choice(others))
            changes[points.ids[n]] = {"label": new, "label_name": points.label_names[new]}
        store.set_payloads(collection, changes)
        store.flush()
    return set(changes)


def at(ranked: list[str], flipped: set[str], n: int) -> tuple[float, float]:
    hits = len(set(ranked[:n]) & flipped)
    return hits / max(1, n), hits / max(1, len(flipped))


def scored_set(found: set[str], flipped: set[str]) -> tuple[float, float]:
    hits = len(found & flipped)
    return hits / max(1, len(found)), hits / max(1, len(flipped))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True,
                        help="An embedded store folder (copied, never written), e.g. one `embedkit ingest` filled.")
    parser.add_argument("--collection", default="fashion-mnist")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.2])
    parser.add_argument("--methods", nargs="+", default=["knn", "linear"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    rows = []
    print(f"{'rate':>5} {'flipped':>7} {'ranking':22} {'P@N/2':>6} {'P=R@N':>6} {'R@2N':>6} {'set':>6} "
          f"{'set P':>6} {'set R':>6} {'s':>6}", flush=True)
    for rate in args.rates:
        with tempfile.TemporaryDirectory(prefix="embedkit-mistakes-") as folder:
            location = Path(folder) / "store"
            shutil.copytree(args.store, location)
            flipped = flip(location, args.collection, rate, args.seed)
            n = len(flipped)
            results = []
            for method in args.methods:
                started = time.perf_counter()
                report = find_mistakes(location, args.collection, method=method, seed=args.seed)
                seconds = time.perf_counter() - started
                ranked = [s.sample_id for s in report.suspects]
                flagged = {s.sample_id for s in report.suspects if s.issue}
                results.append((f"mistakes --method {method}", ranked, flagged, seconds))
                if method == "knn":  # the simple rule from the same leave-one-out neighbours
                    with open_store(location) as store:
                        vector = store.vector(args.collection).name
                        points = stored_vectors(store, args.collection, vector, None)
                        found = out_of_fold(store, args.collection, vector, points, k=10)
                    disagree = {i for i, p, g in zip(points.ids, found.predicted(), points.labels) if p != g}
                    results.append(("kNN disagrees (rule)", [], disagree, 0.0))
            order = np.random.default_rng(args.seed + 1).permutation(len(ranked))
            results.append(("random ranking", [ranked[i] for i in order], set(), 0.0))
            for name, ranking, found_set, seconds in results:
                row = {"rate": rate, "flipped": n, "points": len(ranked), "ranking": name, "seconds": round(seconds, 1)}
                if ranking:
                    row.update({"precision_at_half_n": at(ranking, flipped, n // 2)[0],
                                "precision_at_n": at(ranking, flipped, n)[0],
                                "recall_at_2n": at(ranking, flipped, 2 * n)[1]})
                if found_set:
                    precision, recall = scored_set(found_set, flipped)
                    row.update({"set_size": len(found_set), "set_precision": precision, "set_recall": recall})
                rows.append(row)

                def show(key: str) -> str:
                    return f"{row[key]:6.3f}" if key in row else f"{'-':>6}"

                print(f"{rate:5.2f} {n:7} {name:22} {show('precision_at_half_n')} {show('precision_at_n')} "
                      f"{show('recall_at_2n')} {row.get('set_size', '-'):>6} {show('set_precision')} "
                      f"{show('set_recall')} {seconds:6.1f}", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "machine": platform.platform()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
