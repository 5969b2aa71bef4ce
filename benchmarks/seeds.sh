#!/usr/bin/env bash
# The seed experiments in one command: the tables of the projects embedkit grows out of, under their own metric
# definitions (benchmarks/seed_metrics.py) and embedkit's.
#
#   bash benchmarks/seeds.sh                 # the seeds' data and weights where they can be downloaded, else --offline
#   bash benchmarks/seeds.sh --offline [N]   # the same steps on Fashion-MNIST with the EfficientNet-Lite encoders
#
# Online (a network, and a GPU if there is one; `--device auto` takes it):
#   1. CIFAR-10 with DenseNet-121, ResNet-50 and VGG-16 features and their stacking: retrieval (test against
#      train), kNN and linear-probe accuracy, and the stack's kNN accuracy;
#   2. Caltech-101 with ResNet-50: SVM (RBF) and Random Forest (5-fold), K-Means and agglomerative clustering
#      with K=50 (silhouette, Davies-Bouldin, NMI), P@10 and hit@10;
#   3. the 20-category Caltech subset with VGG-16 against the random ranking and MobileNetV2.
# Offline, where those weights and datasets are unreachable: EfficientNet-Lite0/1/2 stand in for DenseNet-121,
# ResNet-50 and VGG-16, Lite0 for MobileNetV2, and the first N (default 1000) Fashion-MNIST images of each split for
# the three datasets (K=10 clusters: its classes). Results go to $EMBEDKIT_SEEDS_OUT (benchmarks/results/seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
embedkit=(.venv/bin/python -m embedkit)
python=.venv/bin/python
mode=${1:-auto}
limit=${2:-1000}
store=${EMBEDKIT_SEEDS_STORE:-/tmp/embedkit-seeds-store}
out=${EMBEDKIT_SEEDS_OUT:-benchmarks/results/seeds}
say() { printf '\n== %s\n' "$*"; }

reachable() {  # the seeds' datasets and one of their weights can be fetched
    "${embedkit[@]}" datasets download cifar10 >/dev/null 2>&1 \
        && "${embedkit[@]}" datasets download caltech101 >/dev/null 2>&1 \
        && "$python" -c 'from embedkit.encoders import get_encoder; get_encoder("resnet50")' >/dev/null 2>&1
}

if [ "$mode" = auto ]; then
    if reachable; then mode=online; else
        echo "seeds: CIFAR-10, Caltech-101 or the torchvision weights cannot be downloaded here; running --offline" >&2
        mode=--offline
    fi
fi

if [ "$mode" = online ]; then
    cifar=cifar10; caltech=caltech101; caltech20=caltech20; bench_size=(--full); ingest_size=()
    densenet=densenet121; resnet=resnet50; vgg=vgg16; mobilenet=mobilenet_v2; k=50; precision=()
elif [ "$mode" = --offline ]; then
    cifar=fashion-mnist; caltech=fashion-mnist; caltech20=fashion-mnist; bench_size=(--limit "$limit")
    ingest_size=(--limit "$limit")
    densenet=efficientnet-lite0; resnet=efficientnet-lite1; vgg=efficientnet-lite2; mobilenet=efficientnet-lite0
    k=10; precision=()
else
    echo "usage: bash benchmarks/seeds.sh [--offline [N]]" >&2
    exit 2
fi
members="$densenet+$resnet+$vgg"
rm -rf "$store"  # a store from an earlier run (another N) would be scored whole
mkdir -p "$out"
rm -f "$out/seed_metrics.jsonl"
json() { "${embedkit[@]}" "$@" --json; }

say "1. $cifar: $densenet, $resnet, $vgg; retrieval, kNN and linear probe (test queries against the train gallery)"
"${embedkit[@]}" bench --datasets "$cifar" --encoders "$densenet,$resnet,$vgg" --protocol split \
    --query-split test --gallery-split train "${bench_size[@]}" "${precision[@]}" --tasks retrieval,knn,linear \
    --qdrant "$store" --out "$out/1-$cifar"
"$python" benchmarks/seed_metrics.py --qdrant "$store" --collection "$cifar" --split test --vector "$densenet" \
    --vector "$resnet" --vector "$vgg" --out "$out/seed_metrics.jsonl"
say "1. the stacking of the three (LDA on the train split) and its kNN accuracy"
"${embedkit[@]}" stack train "$members" -c "$cifar" --split train -o "$out/stacker.npz" --qdrant "$store"
json classify -c "$cifar" -e stack:stacker --method knn --qdrant "$store" --out "$out/1-stack-knn" > "$out/1-stack-knn.json"
"$python" benchmarks/seed_metrics.py --qdrant "$store" --collection "$cifar" --split test --vector stack:stacker \
    --out "$out/seed_metrics.jsonl"

say "2. $caltech with $resnet: SVM and Random Forest, K-Means and agglomerative clustering (K=$k), P@10 and hit@10"
"${embedkit[@]}" ingest "$caltech" --encoder "$resnet" "${ingest_size[@]}" "${precision[@]}" --qdrant "$store"
for method in svm forest; do
    json classify -c "$caltech" -e "$resnet" --method "$method" --cv 5 --qdrant "$store" \
        --out "$out/2-$method" > "$out/2-$method.json"
done
for method in kmeans agglomerative; do
    json cluster -c "$caltech" -e "$resnet" --method "$method" --k "$k" --no-write --qdrant "$store" \
        > "$out/2-$method.json"
done
"$python" benchmarks/seed_metrics.py --qdrant "$store" --collection "$caltech" --vector "$resnet" \
    --out "$out/seed_metrics.jsonl"

say "3. $caltech20 with $vgg against the random ranking and $mobilenet"
"${embedkit[@]}" bench --datasets "$caltech20" --encoders "$vgg,$mobilenet" "${bench_size[@]}" \
    "${precision[@]}" --qdrant "$store" --out "$out/3-$caltech20"

say "summary"
"$python" - "$out" <<'EOF'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
for name in ("2-svm", "2-forest", "1-stack-knn"):
    report = json.loads((out / f"{name}.json").read_text())
    print(f"{name:14} accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}")
for name in ("2-kmeans", "2-agglomerative"):
    scores = json.loads((out / f"{name}.json").read_text())["scores"]
    print(f"{name:14} silhouette {scores['silhouette']:.4f}  Davies-Bouldin {scores['davies_bouldin']:.4f}  "
          f"NMI {scores['nmi']:.4f}")
for line in (out / "seed_metrics.jsonl").read_text().splitlines():
    row = json.loads(line)
    print(f"{row['collection']:14} {row['vector']:40} seed mAP@5 "
          f"{row['seed_map@5 (mean P@5, query in its gallery)']:.4f}  seed P@10 (hit@10) {row['hit@10']:.4f}  "
          f"mAP@5 {row['map@5']:.4f}  P@10 {row['p@10']:.4f}")
EOF
