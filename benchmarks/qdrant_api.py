"""What Qdrant's REST API in `embedkit serve` costs: `query_points` by vector through qdrant-client against the
server, against the same query made in-process on the embedded store.

    .venv/bin/python benchmarks/qdrant_api.py                       # 10,000 points x 512, 1 and 16 clients
    .venv/bin/python benchmarks/qdrant_api.py --points 2000 --queries 100

Writes a store of `--points` random unit vectors (one named vector, 512-d, payloads like an ingest's) and builds its
HNSW index; then, in this process, times `Store.nearest_points` (what the API calls) and Qdrant Edge's own
`EdgeShard.query` from 1 and 16 threads; then starts `embedkit serve` as a user does (its own process: an embedded
store is one process's at a time) and times `QdrantClient(url=".../qdrant").query_points` from 1 and 16 threads, each
with its own client (keep-alive connection); then again with Qdrant's API on a port of its own (`--qdrant-api-port`,
without the main application's middleware). Every query asks for the top 10 with payloads. Prints p50 and p99 (ms)
of each, the HTTP p50 minus the in-process p50, and their ratio.

Target (issue 25): the HTTP layer adds under 2 ms p50 at 1 client.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

COLLECTION, VECTOR, DIM, K = "bench", "vec", 512, 10
TARGET_MS = 2.0


def build(store_path: Path, points: int) -> np.ndarray:
    from embedkit.records import VectorRecord
    from embedkit.store import open_store

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(points, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with open_store(store_path) as store:
        store.ensure_vector(COLLECTION, VECTOR, VectorRecord("random", DIM, "image"))
        ids = [f"bench/{i:06d}" for i in range(points)]
        payloads = [{"label": i % 10, "split": "test", "dataset": "bench"} for i in range(points)]
        for start in range(0, points, 1000):
            store.upsert(COLLECTION, VECTOR, ids[start:start + 1000], vectors[start:start + 1000],
                         payloads[start:start + 1000])
        store.optimize(COLLECTION)
    return vectors


def stored_vectors(store_path: Path) -> np.ndarray:
    from embedkit.store import open_store

    with open_store(store_path) as store:
        return np.concatenate([batch[VECTOR] for _, batch, _ in store.iter_points(COLLECTION, [VECTOR])])


RATES: dict[int, float] = {}
"""Queries per second of each list `timed` returned (by its id)."""


def timed(call: Callable[[np.ndarray], object], queries: np.ndarray, clients: int) -> list[float]:
    """Milliseconds of each call, `clients` threads splitting `queries` between them."""
    spent: list[float] = []
    began = time.perf_counter()
    lock = threading.Lock()

    def worker(part: np.ndarray) -> None:
        mine = []
        for query in part:
            started = time.perf_counter()
            call(query)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            spent.extend(mine)

    threads = [threading.Thread(target=worker, args=(part,)) for part in np.array_split(queries, clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    RATES[id(spent)] = len(queries) / (time.perf_counter() - began)
    return spent


def in_process(store_path: Path, queries: np.ndarray, clients: int) -> dict[str, list[float]]:
    import array

    import qdrant_edge as qe

    from embedkit.store import open_store

    with open_store(store_path) as store:
        store.nearest_points(COLLECTION, VECTOR, queries[0], limit=K)  # loads the shard
        shard = store._shard(COLLECTION)
        params = qe.SearchParams(hnsw_ef=128)

        def edge(query: np.ndarray) -> object:
            return shard.query(qe.QueryRequest(limit=K, query=qe.Query.Nearest(array.array("f", query.tobytes()),
                                                                               using=VECTOR),
                                               with_payload=True, params=params))

        return {"Qdrant Edge EdgeShard.query": timed(edge, queries, clients),
                "Store.nearest_points": timed(lambda q: store.nearest_points(COLLECTION, VECTOR, q, limit=K),
                                              queries, clients)}


def over_http(store_path: Path, queries: np.ndarray, clients: int, port: int, own_port: bool) -> list[float]:
    """Milliseconds of each query through qdrant-client: under /qdrant of the server's port, or (`own_port`) at the
    root of the port `--qdrant-api-port` gives Qdrant's API alone."""
    from qdrant_client import QdrantClient

    options = ["--port", str(port + 1), "--qdrant-api-port", str(port)] if own_port else ["--port", str(port)]
    url = f"http://127.0.0.1:{port}" + ("" if own_port else "/qdrant")
    process = subprocess.Popen([sys.executable, "-m", "embedkit", "serve", "--qdrant", str(store_path), *options],
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start: {process.stderr.read() if process.stderr else ''}")
                time.sleep(0.3)
        local = threading.local()

        def call(query: np.ndarray) -> object:
            if not hasattr(local, "client"):
                local.client = QdrantClient(url=url, prefer_grpc=False,
                                            check_compatibility=False)
                local.client.query_points(COLLECTION, query=query.tolist(), using=VECTOR, limit=K)  # connects
            return local.client.query_points(COLLECTION, query=query.tolist(), using=VECTOR, limit=K,
                                             with_payload=True)

        return timed(call, queries, clients)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


def cpu() -> str:
    try:
        found = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in found.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown"
    import torch

    return f"{model}, {os.cpu_count()} CPUs, torch capability {torch.backends.cpu.get_cpu_capability()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=400, help="queries for each measurement")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--store", type=Path, help="a store this script built before (--points ignored); "
                        "default: a new one in a temporary folder")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.store is not None and args.store.exists():
        store_path, vectors = args.store, stored_vectors(args.store)
    else:
        store_path = args.store or Path(tempfile.mkdtemp(prefix="embedkit-qdrant-api-")) / "store"
        started = time.perf_counter()
        vectors = build(store_path, args.points)
        print(f"store of {args.points} x {DIM} built and indexed in {time.perf_counter() - started:.1f} s")
    print(f"{len(vectors)} points x {DIM}; {cpu()}")
    rng = np.random.default_rng(1)
    queries = vectors[rng.integers(0, len(vectors), args.queries)] + rng.normal(0, 0.05, (args.queries, DIM))
    queries = queries.astype(np.float32)
    rows = []
    for clients in args.clients:
        local = in_process(store_path, queries, clients)
        http = {"qdrant-client -> embedkit serve, /qdrant": over_http(store_path, queries, clients, args.port, False),
                "qdrant-client -> --qdrant-api-port": over_http(store_path, queries, clients, args.port, True)}
        base = float(np.percentile(local["Store.nearest_points"], 50))
        for name, spent in [*local.items(), *http.items()]:
            p50, p99 = np.percentile(spent, [50, 99])
            rows.append((clients, name, p50, p99, p50 / base, RATES[id(spent)]))
        for name, spent in http.items():
            added = float(np.percentile(spent, 50)) - base
            print(f"{clients} client(s), {name}: HTTP adds {added:.2f} ms at p50 over Store.nearest_points "
                  f"(target under {TARGET_MS} ms at 1 client)")
    print("\n| clients | call | p50 ms | p99 ms | p50 / Store.nearest_points | queries/s |\n"
          "|---:|---|---:|---:|---:|---:|")
    for clients, name, p50, p99, ratio, rate in rows:
        print(f"| {clients} | {name} | {p50:.2f} | {p99:.2f} | {ratio:.2f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
