"""`embedkit serve` under load: 16 clients on loopback search by stored id and by uploaded image.

    .venv/bin/python benchmarks/serve_load.py --qdrant STORE          # a store with Fashion-MNIST test embedded
    .venv/bin/python benchmarks/serve_load.py                         # ingests it first (minutes on 2 cores)

Starts the server as a user does (`embedkit serve`, its own process), lets each of `--clients` threads hold a
keep-alive connection, and sends `--by-id` searches by a random stored sample id and `--by-image` searches by an
uploaded image (the collection's own images, fetched once from the server's image endpoint), interleaved. Reports
p50, p99 and the errors of each kind, and the requests per second. The clients share the machine with the server:
on 2 cores they take CPU the server would otherwise have.

Target (issue "embedkit serve"): 0 errors, and a search by id p50 under 20 ms on a 10,000-point collection.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

TARGET_P50_MS = 20.0


def start_server(store: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "embedkit", "serve", "--qdrant", str(store), "--port", str(port)],
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {process.stderr.read() if process.stderr else ''}")
            time.sleep(0.5)


def ingest_if_needed(store: Path | None, encoder: str) -> Path:
    if store is not None:
        return store
    store = Path(tempfile.mkdtemp(prefix="embedkit-serve-load-")) / "store"
    subprocess.run([sys.executable, "-m", "embedkit", "ingest", "fashion-mnist", "--split", "test", "--encoder", encoder,
                    "--qdrant", str(store)], check=True)
    return store


def percentiles(seconds: list[float]) -> dict[str, float]:
    values = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99)),
            "mean_ms": float(values.mean())} if len(values) else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qdrant", type=Path, default=None, help="An embedded store (default: ingest one first).")
    parser.add_argument("--collection", default="fashion-mnist")
    parser.add_argument("--encoder", default="efficientnet_lite0", help="For the ingest when no --qdrant is given.")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--by-id", type=int, default=2000)
    parser.add_argument("--by-image", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    args = parser.parse_args()

    store = ingest_if_needed(args.qdrant, args.encoder)
    process = start_server(store, args.port)
    base = f"http://127.0.0.1:{args.port}/api/collections/{args.collection}"
    try:
        with httpx.Client(timeout=60) as client:
            points = client.get(f"http://127.0.0.1:{args.port}/api/collections").json()
            size = next(c["points"] for c in points if c["name"] == args.collection)
            ids = [p["id"] for p in client.get(f"{base}/map").json()["points"]]
            rng = random.Random(args.seed)
            uploads = [client.get(f"{base}/image", params={"id": sample}).content for sample in rng.sample(ids, 50)]
            client.post(f"{base}/search/image", files={"image": ("warm.jpg", uploads[0], "image/jpeg")})  # loads the model
        jobs = [("id", rng.choice(ids)) for _ in range(args.by_id)] + \
               [("image", rng.randrange(len(uploads))) for _ in range(args.by_image)]
        rng.shuffle(jobs)
        local = threading.local()
        timings: dict[str, list[float]] = {"id": [], "image": []}
        errors: dict[str, list[str]] = {"id": [], "image": []}

        def send(job: tuple[str, object]) -> None:
            if not hasattr(local, "client"):
                local.client = httpx.Client(timeout=120)
            kind, value = job
            started = time.perf_counter()
            try:
                if kind == "id":
                    response = local.client.post(f"{base}/search", json={"id": value, "k": args.k})
                else:
                    response = local.client.post(f"{base}/search/image", data={"k": str(args.k)},
                                                 files={"image": ("query.jpg", uploads[value], "image/jpeg")})
                elapsed = time.perf_counter() - started
                if response.status_code != 200 or len(response.json()["hits"]) != args.k:
                    errors[kind].append(f"{response.status_code} {response.text[:120]}")
                else:
                    timings[kind].append(elapsed)
            except httpx.HTTPError as error:
                errors[kind].append(repr(error))

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(send, jobs))
        wall = time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)

    figures = {
        "collection_points": size, "clients": args.clients, "k": args.k, "wall_seconds": wall,
        "requests_per_second": len(jobs) / wall,
        "by_id": {"requests": args.by_id, "errors": len(errors["id"]), **percentiles(timings["id"])},
        "by_image": {"requests": args.by_image, "errors": len(errors["image"]), **percentiles(timings["image"])},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "processor": platform.machine()},
    }
    print(json.dumps(figures, indent=2))
    for kind in ("id", "image"):
        for error in errors[kind][:3]:
            print(f"error ({kind}): {error}", file=sys.stderr)
    ratio = figures["by_id"].get("p50_ms", float("inf")) / TARGET_P50_MS
    print(f"search by id p50 {figures['by_id'].get('p50_ms', float('nan')):.1f} ms = {ratio:.2f} x the 20 ms target; "
          f"errors: {len(errors['id'])} by id, {len(errors['image'])} by image")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
