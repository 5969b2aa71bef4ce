#!/usr/bin/env bash
# The committed retrieval table of benchmarks/README.md: Fashion-MNIST, pretrained EfficientNet-Lite0/1/2,
# the four torchvision CNNs with random weights as the floor, and the random baseline.
#   bash benchmarks/fashion_mnist_table.sh [LIMIT]     (default 2000 test images; about 20-40 min on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-2000}
store=${EMBEDKIT_BENCH_STORE:-/tmp/embedkit-bench-store}
out=benchmarks/results/fashion-mnist
encoders=efficientnet-lite0,efficientnet-lite1,efficientnet-lite2,mobilenet_v2.random,densenet121.random,resnet50.random,vgg16.random
.venv/bin/embedkit bench --datasets fashion-mnist --encoders "$encoders" --split test --limit "$limit" \
    --through-store --qdrant "$store" --out "$out/loo-test-$limit"
.venv/bin/embedkit bench --datasets fashion-mnist --encoders efficientnet-lite0,mobilenet_v2.random \
    --protocol split --query-split test --gallery-split train --limit "$limit" --queries 1000 \
    --qdrant "$store" --out "$out/test-vs-train-$limit"
# bf16 against fp32 on the same images: its own store, since the vectors share a name
.venv/bin/embedkit bench --datasets fashion-mnist --encoders efficientnet-lite0 --split test --limit "$limit" \
    --precision bf16 --qdrant "$store-bf16" --out "$out/loo-test-$limit-bf16"
