"""Near-duplicates at 100,000 points: peak memory, time, and whether every planted group is found.

    .venv/bin/python benchmarks/duplicates_memory.py                  # 100,000 x 512 (minutes: the HNSW build)
    .venv/bin/python benchmarks/duplicates_memory.py --points 10000   # a quick run

Builds an embedded store (Qdrant Edge) of unit vectors around 1,000 centres (cosine about 0.67 within a centre,
like the neighbours of real image embeddings, far under the threshold), plants groups of 2 to 5 near-copies
(some exact, the others at cosine 0.96 to 0.999 with their original), builds the index, then runs
`find_duplicates` in a fresh process and reports its peak RSS (ru_maxrss), its wall time, the planted groups
found exactly (recall) and the groups found that were not planted.

Target (issue "Learn from stored vectors"): 100,000 points in well under 2 GB of memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_BYTES = 2 * 1024**3
COLLECTION = "planted"
VECTOR = "synthetic"


def make_data(points: int, dim: int, groups: int, seed: int) -> tuple[np.ndarray, list[list[int]]]:
    """`points` unit vectors, the last of them near-copies planted in `groups` groups (row indexes)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 6, groups)
    copies = int((sizes - 1).sum())
    background = points - copies
    centres = rng.standard_normal((1000, dim), dtype=np.float32)
    data = np.empty((points, dim), dtype=np.float32)
    data[:background] = centres[rng.integers(0, 1000, background)]
    data[:background] += 0.7 * rng.standard_normal((background, dim), dtype=np.float32)
    data[:background] /= np.linalg.norm(data[:background], axis=1, keepdims=True)
    originals = rng.choice(background, groups, replace=False)
    planted, row = [], background
    for original, size in zip(originals, sizes):
        members = [int(original)]
        for _ in range(size - 1):
            # every third copy exact; the others moved by a random direction of norm 0.04 to 0.2 (cosine >= 0.98
            # with the original, >= 0.96 between two copies: above the 0.95 threshold, so no group is a chain)
            noise = rng.standard_normal(dim).astype(np.float32)
            epsilon = 0.0 if row % 3 == 0 else rng.uniform(0.04, 0.2)
            copy = data[original] + epsilon * noise / np.linalg.norm(noise)
            data[row] = copy / np.linalg.norm(copy)
            members.append(row)
            row += 1
        planted.append(members)
    return data, planted


def sample_id(row: int) -> str:
    return f"p{row:07d}"


def build(location: Path, data: np.ndarray) -> dict[str, float]:
    from embedkit.records import VectorRecord
    from embedkit.store import open_store

    rng = np.random.default_rng(1)
    splits = np.where(rng.random(len(data)) < 0.15, "test", "train")
    started = time.perf_counter()
    with open_store(location) as store:
        store.ensure_vector(COLLECTION, VECTOR, VectorRecord(VECTOR, data.shape[1], "image", weights="planted"))
        for start in range(0, len(data), 1024):
            rows = range(start, min(start + 1024, len(data)))
            store.upsert(COLLECTION, VECTOR, [sample_id(r) for r in rows], data[start : rows.stop],
                         [{"dataset": "synthetic", "split": str(splits[r]), "label": r % 10} for r in rows])
        loaded = time.perf_counter()
        store.optimize(COLLECTION)
    return {"upsert_s": loaded - started, "index_s": time.perf_counter() - loaded}


def memory() -> dict[str, int]:
    """The process's resident memory now (VmRSS: RssAnon, its own, plus RssFile, pages of mapped files such as
    the store's, which the kernel can drop) and at its peak so far (VmHWM), in bytes (Linux)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM", "RssAnon", "RssFile")
            if key in fields}


def find(location: str, threshold: float, k: int) -> None:
    """Run in a fresh process: find the groups and print what it took as one JSON line."""
    import tracemalloc

    from embedkit.analysis.duplicates import find_duplicates
    from embedkit.store import open_store

    with open_store(location) as store:
        store.count(COLLECTION)  # loads the shard
        opened = memory()
        tracemalloc.start()
        started = time.perf_counter()
        report = find_duplicates(store, COLLECTION, vector=VECTOR, threshold=threshold, k=k)
        seconds = time.perf_counter() - started
        python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        searched = memory()
    print(json.dumps({"seconds": seconds, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "opened": opened, "searched": searched, "python_peak": python_peak, "points": report.points,
                      "pairs": report.pairs, "saturated": report.saturated, "leaks": len(report.leaks),
                      "groups": [[m.sample_id for m in g.members] for g in report.groups]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--groups", type=int, default=1000, help="Planted near-duplicate groups.")
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", type=Path, default=None,
                        help="Where to build the store and keep it (default: a temp folder, removed); a store "
                             "built there by an earlier run with the same arguments is searched again.")
    parser.add_argument("--find-only", metavar="STORE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.find_only:
        find(args.find_only, args.threshold, args.k)
        return

    data, planted = make_data(args.points, args.dim, args.groups, args.seed)
    root = args.store or Path(tempfile.mkdtemp(prefix="embedkit-duplicates-"))
    try:
        reused = (root / "store" / COLLECTION).is_dir()
        timings = {} if reused else build(root / "store", data)
        del data
        command = [sys.executable, __file__, "--find-only", str(root / "store"), "--threshold", str(args.threshold),
                   "-k", str(args.k)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        found = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        if args.store is None:
            shutil.rmtree(root, ignore_errors=True)
    expected = {frozenset(sample_id(r) for r in members) for members in planted}
    groups = {frozenset(members) for members in found["groups"]}
    from importlib.metadata import version

    print(f"machine: {platform.processor() or platform.machine()}, qdrant-edge-py {version('qdrant-edge-py')}, "
          f"python {platform.python_version()}")
    print(f"{args.points:,} x {args.dim} vectors, {len(planted):,} planted groups "
          f"({sum(map(len, planted)):,} points); threshold {args.threshold}, k {args.k}")
    print(f"upsert {timings['upsert_s']:.1f} s, index build {timings['index_s']:.1f} s" if timings
          else f"store {root / 'store'} reused")
    print(f"find_duplicates: {found['seconds']:.1f} s ({found['points'] / found['seconds']:,.0f} points/s), "
          f"{found['pairs']:,} pairs, {len(groups):,} groups, {found['saturated']} saturated")
    opened, searched = found["opened"], found["searched"]
    print(f"peak RSS of the finding process: {found['peak_rss'] / 2**20:,.0f} MiB; target < "
          f"{TARGET_BYTES / 2**30:.0f} GiB: {'meets' if found['peak_rss'] < TARGET_BYTES else 'misses'}")
    for when, figures in (("with the store open, before the search", opened), ("after the search", searched)):
        print(f"  {when}: {figures.get('VmRSS', 0) / 2**20:,.0f} MiB resident "
              f"({figures.get('RssAnon', 0) / 2**20:,.0f} MiB its own, {figures.get('RssFile', 0) / 2**20:,.0f} MiB "
              f"pages of mapped files)")
    print(f"  Python allocations of find_duplicates at their peak: {found['python_peak'] / 2**20:,.1f} MiB "
          f"(an N x N float32 matrix would be {args.points**2 * 4 / 2**30:,.1f} GiB)")
    print(f"recall: {len(expected & groups):,} of {len(expected):,} planted groups found exactly "
          f"({len(expected & groups) / len(expected):.4f}); {len(groups - expected)} groups found that were not "
          f"planted")


if __name__ == "__main__":
    main()
