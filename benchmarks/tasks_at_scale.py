"""Each analysis command at 70,000 x 1280 on this machine: wall time and peak memory, one process per task.

    .venv/bin/python benchmarks/tasks_at_scale.py                      # 70,000 x 1280, every task
    .venv/bin/python benchmarks/tasks_at_scale.py --points 7000 --store DIR --only classify-knn

An embedded store (Qdrant Edge) receives 70,000 unit vectors of 1280 dimensions (EfficientNet-Lite0's size) in
10 labelled classes (Fashion-MNIST's shape: the first 60,000 the train split, the rest the test split), with 300
planted groups of 2 or 3 near-copies (cosine 0.99 with their original), and its HNSW index is built. Then each
task runs as `embedkit ...` in a process of its own; its wall time and peak resident memory (the process's
`ru_maxrss`, read by `os.wait4`) are printed, with the target of the analysis issue: each task under 2 minutes,
duplicates under 1 minute. `--out FILE` writes the rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from qdrant_api import cpu  # a sibling script: benchmarks/ is on sys.path when a script runs

COLLECTION = "scale"
VECTOR = "planted.v1"
CLASSES = 10

TASKS = {  # name: (arguments after `embedkit`, target seconds)
    "classify-knn": (["classify", "--method", "knn"], 120),
    "classify-linear": (["classify", "--method", "linear"], 120),
    "classify-svm": (["classify", "--method", "svm"], 120),
    "classify-forest": (["classify", "--method", "forest"], 120),
    "cluster-kmeans": (["cluster", "--method", "kmeans", "--k", "10"], 120),
    "duplicates": (["duplicates", "--threshold", "0.95"], 60),
    "duplicates-leaks": (["duplicates", "--threshold", "0.95", "--leaks"], 60),
    "map-pca": (["map", "--method", "pca"], 120),
    "map-umap": (["map", "--method", "umap"], 120),
    "map-tsne": (["map", "--method", "tsne"], 120),
    "mistakes-knn": (["mistakes", "--method", "knn"], 120),
    "mistakes-linear": (["mistakes", "--method", "linear"], 120),
    "rank-uniqueness": (["rank", "--by", "uniqueness"], 120),
    "rank-representativeness": (["rank", "--by", "representativeness"], 120),
    "rank-hardness": (["rank", "--by", "hardness"], 120),
}


def make_data(points: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Unit vectors around one centre per class, and the number of planted near-copies among them."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, points)
    centres = rng.standard_normal((CLASSES, dim)).astype(np.float32)
    vectors = centres[labels] + 3.0 * rng.standard_normal((points, dim)).astype(np.float32)
    copies = 0
    targets = iter(rng.choice(np.arange(points // 2, points), 600, replace=False))  # each overwritten once
    for original in rng.choice(points // 2, 300, replace=False):  # at least 1,200 points
        for _ in range(int(rng.integers(1, 3))):
            target = int(next(targets))
            noise = rng.standard_normal(dim).astype(np.float32)
            unit = vectors[original] / np.linalg.norm(vectors[original])
            vectors[target] = unit + 0.14 * noise / np.linalg.norm(noise)  # cosine about 0.99
            labels[target] = labels[original]
            copies += 1
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, labels, copies


def build(location: Path, vectors: np.ndarray, labels: np.ndarray, train: int) -> dict[str, float]:
    from embedkit.records import VectorRecord
    from embedkit.store import open_store

    started = time.perf_counter()
    with open_store(location) as store:
        store.ensure_vector(COLLECTION, VECTOR, VectorRecord(VECTOR, vectors.shape[1], "image", weights="planted"))
        for start in range(0, len(vectors), 2000):
            rows = range(start, min(start + 2000, len(vectors)))
            payloads = [{"label": int(labels[r]), "label_name": f"class {labels[r]}",
                         "split": "train" if r < train else "test"} for r in rows]
            store.upsert(COLLECTION, VECTOR, [f"p{r:06d}" for r in rows], vectors[rows.start : rows.stop], payloads)
        loaded = time.perf_counter()
        store.optimize(COLLECTION)
    return {"upsert_s": loaded - started, "index_s": time.perf_counter() - loaded}


def run_task(arguments: list[str], store: Path, work: Path, timeout: float,
             collection: str = COLLECTION) -> dict[str, object]:
    """`embedkit ARGUMENTS` in its own process: exit code, seconds, peak RSS in MB, its last line."""
    command = [sys.executable, "-m", "embedkit", *arguments, "-c", collection, "--qdrant", str(store)]
    if arguments[0] in ("mistakes", "rank"):
        command += ["--out", str(work / f"{arguments[0]}.png")]
    if arguments[0] in ("classify", "map"):
        command += ["--out", str(work / (arguments[0] + (".png" if arguments[0] == "map" else "")))]
    if arguments[0] == "cluster":
        command += ["--no-write"]
    log = work / "task.log"
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, "COLUMNS": "200"})
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(process.pid, signal.SIGKILL)  # its worker processes too
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.2)
    seconds = time.perf_counter() - started
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return {"exit": os.waitstatus_to_exitcode(status), "seconds": round(seconds, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "timed_out": seconds > timeout,
            "last_line": lines[-1].strip()[:160] if lines else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=70_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--store", type=Path, help="Keep the store here (built when missing); default: a temporary one.")
    parser.add_argument("--collection", default=COLLECTION,
                        help="The collection the tasks run on (another than the planted one: an existing --store's, "
                             "e.g. fashion-mnist embedded by EfficientNet-Lite0).")
    parser.add_argument("--only", action="append", choices=sorted(TASKS), help="Run only these tasks.")
    parser.add_argument("--timeout", type=float, default=600, help="Seconds after which a task is stopped.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="Write the rows as JSON here.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="embedkit-tasks-") as folder:
        work = Path(folder)
        store = args.store or work / "store"
        timings = {}
        if not store.exists():
            vectors, labels, copies = make_data(args.points, args.dim, args.seed)
            timings = build(store, vectors, labels, train=args.points * 6 // 7)
            print(f"{args.points} x {args.dim} stored in {timings['upsert_s']:.1f} s, index built in "
                  f"{timings['index_s']:.1f} s; {copies} planted near-copies", flush=True)
        rows = []
        print(f"{'task':24} {'exit':>4} {'seconds':>8} {'peak MB':>8} {'target s':>8}  verdict", flush=True)
        for name in args.only or TASKS:
            arguments, target = TASKS[name]
            row = {"task": name, "command": "embedkit " + " ".join(arguments), "target_seconds": target,
                   **run_task(arguments, store, work, args.timeout, args.collection)}
            row["met"] = row["exit"] == 0 and row["seconds"] <= target
            rows.append(row)
            verdict = "met" if row["met"] else ("stopped at the timeout" if row["timed_out"] else
                                                 "FAILED" if row["exit"] else "misses")
            print(f"{name:24} {row['exit']:4} {row['seconds']:8.1f} {row['peak_rss_mb']:8} {target:8}  {verdict}",
                  flush=True)
            if row["exit"]:
                print(f"    {row['last_line']}", flush=True)
        if args.out:
            args.out.write_text(json.dumps({"points": args.points, "dim": args.dim, "collection": args.collection,
                                            "build": timings, "rows": rows, "cpu": cpu(),
                                            "machine": platform.platform(), "cpus": os.cpu_count()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
