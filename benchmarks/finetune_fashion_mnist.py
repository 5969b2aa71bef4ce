"""Fine-tune EfficientNet-Lite0 on Fashion-MNIST training images with both objectives, then score each exactly as
`embedkit bench` scores the frozen features (leave-one-out over the 10,000 test images, mAP@5).

    .venv/bin/python benchmarks/finetune_fashion_mnist.py --limit 6000 --epochs 1 --out /tmp/ft
    .venv/bin/python benchmarks/finetune_fashion_mnist.py --limit 20000 --epochs 2 --image-size 112 --out /tmp/ft112
    .venv/bin/python benchmarks/finetune_fashion_mnist.py --limit 40000 --epochs 3 --image-size 112 \
        --objectives multi-similarity --out /tmp/ft40k

The frozen ImageNet features score mAP@5 0.79 this way (benchmarks/README.md); target (issue "Fine-tune
backbones"): 0.90 or more. Prints one JSON document: per objective, the training curves, the images/s, and the
bench figures of the fine-tuned encoder. Validation (the best epoch's choice) uses 1,000 training images that
training leaves out, so that the 10,000 test images bench scores are never seen before.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=6000, help="Training images (a seeded random choice).")
    parser.add_argument("--objectives", default="classification,multi-similarity")
    parser.add_argument("--out", type=Path, default=Path("/tmp/embedkit-finetune"))
    parser.add_argument("--bench-limit", type=int, default=None, help="Test images bench scores (default: all).")
    parser.add_argument("--image-size", type=int, default=None,
                        help="Input size (default: the network's own 224; 112 trains about 4 x faster on 28 px images).")
    parser.add_argument("--epochs", type=int, default=2, help="Unfrozen epochs (classification adds a frozen one).")
    args = parser.parse_args()
    os.environ.setdefault("EMBEDKIT_MODELS", str(args.out / "models"))

    from embedkit.bench import bench
    from embedkit.training import TrainConfig, train

    report = {}
    sized = {"image_size": args.image_size} if args.image_size else {}
    frozen, _ = bench(["fashion-mnist"], ["efficientnet_lite0"], split="test", limit=args.bench_limit,
                      store=args.out / "store", out_dir=args.out / "results", precision="auto", **sized)
    report["frozen"] = {"encoder": frozen[0].encoder, "training_seconds": 0.0, "bench": frozen[0].metrics}
    print(json.dumps(report["frozen"]), flush=True)
    for objective in args.objectives.split(","):
        classification = objective == "classification"
        config = TrainConfig(base="efficientnet_lite0", dataset="fashion-mnist", name=f"fmnist-{objective}",
                             objective=objective, sample=args.limit, validation_split="train",
                             validation_limit=1000,
                             epochs=args.epochs + 1 if classification else args.epochs,
                             frozen_epochs=1 if classification else 0, image_size=args.image_size, patience=args.epochs,
                             learning_rate=1e-2, unfrozen_learning_rate=1e-4, batch_size=32, precision="auto")
        started = time.perf_counter()
        result = train(config, on_epoch=lambda row: print(json.dumps(row), flush=True))
        trained = time.perf_counter() - started
        results, failures = bench(["fashion-mnist"], [result.encoder], split="test", limit=args.bench_limit,
                                  store=args.out / "store", out_dir=args.out / "results", precision="auto")
        report[objective] = {
            "encoder": result.encoder, "training_seconds": trained, "curves": result.history,
            "best_epoch": result.best_epoch, "validation_best": result.best,
            "bench": results[0].metrics if results else {"failed": [str(f) for f in failures]},
            "bench_queries": results[0].queries if results else 0,
        }
        print(json.dumps(report[objective], indent=2), flush=True)
    print(json.dumps({objective: {"map@5": figures["bench"].get("map@5"), "p@10": figures["bench"].get("p@10"),
                                  "training_minutes": figures["training_seconds"] / 60}
                      for objective, figures in report.items()}, indent=2))


if __name__ == "__main__":
    main()
