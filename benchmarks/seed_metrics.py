"""The seed experiments' retrieval figures next to embedkit's, from the vectors a collection already holds.

    .venv/bin/python benchmarks/seed_metrics.py --qdrant STORE --collection cifar10 --split test [--vector NAME]

The seeds scored differently (docs/bench.md, "Which published figure is which"):
- one seed's "mAP@5" is the mean P@5 with the query left in its own gallery, so that it counts as its own
  first hit;
- another seed's "Precision@10" is a hit rate: does any of the top 10 share the query's label (`hit@10`).
Both are printed beside embedkit's `map@5`, `p@10` and `hit@10` (the query left out of its gallery), for every
vector of the collection (or `--vector`), leave-one-out within `--split`; `--out FILE` appends the rows as JSON
lines.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from embedkit.bench import metrics
from embedkit.bench.protocols import LEAVE_ONE_OUT, make_task
from embedkit.bench.ranking import exact_ranking
from embedkit.encoders import vector_name_candidates
from embedkit.encoders.names import find_stored
from embedkit.store import open_store


def seed_figures(task) -> dict[str, float]:
    """Both seeds' figures and embedkit's for one leave-one-out task."""
    queries, gallery = task.queries, task.gallery
    kept_in = exact_ranking(queries.vectors, queries.labels, gallery.vectors, gallery.labels, None, k=10)
    left_out = exact_ranking(queries.vectors, queries.labels, gallery.vectors, gallery.labels, task.query_positions,
                             k=10)
    ours = metrics.mean_metrics([metrics.query_metrics(r) for r in left_out.ranks if len(r)])
    return {
        "seed_map@5 (mean P@5, query in its gallery)": float(np.mean([metrics.precision_at_k(r, 5)
                                                                      for r in kept_in.ranks])),
        "seed_precision@10 (hit@10)": ours["hit@10"],
        "map@5": ours["map@5"],
        "p@10": ours["p@10"],
        "hit@10": ours["hit@10"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qdrant", required=True, help="The store folder (or server URL) bench or ingest used.")
    parser.add_argument("--collection", required=True)
    parser.add_argument("--split", default=None, help="Leave-one-out within this split (default: all points).")
    parser.add_argument("--vector", action="append",
                        help="Only these vectors, by vector or encoder name (default: every stored one).")
    parser.add_argument("--out", type=Path, help="Append the rows to this JSON-lines file.")
    args = parser.parse_args()

    with open_store(args.qdrant) as store:
        stored = store.vector_names(args.collection)
        names = [find_stored(vector_name_candidates(name), stored) or name for name in args.vector or stored]
        print(f"{args.collection} ({args.split or 'all splits'}), leave-one-out:")
        print(f"{'vector':48} {'seed mAP@5':>10} {'seed P@10':>10} {'mAP@5':>8} {'P@10':>8} {'hit@10':>8}")
        for name in names:
            task = make_task(store, args.collection, name, LEAVE_ONE_OUT, split=args.split)
            figures = seed_figures(task)
            values = list(figures.values())
            print(f"{name:48} {values[0]:10.4f} {values[1]:10.4f} {values[2]:8.4f} {values[3]:8.4f} {values[4]:8.4f}")
            if args.out:
                with open(args.out, "a") as stream:
                    stream.write(json.dumps({"collection": args.collection, "split": args.split, "vector": name,
                                             "queries": len(task.queries.ids), **figures}) + "\n")


if __name__ == "__main__":
    main()
