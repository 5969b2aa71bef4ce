"""Validation as bench measures: leave-one-out over the validation images, mAP@5 with embedkit's own metrics,
and accuracy (the head's, or the nearest neighbour's label where the objective has no head)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from embedkit.bench.metrics import ap_at_k
from embedkit.bench.ranking import exact_ranking


def embed(network: nn.Module, loader: torch.utils.data.DataLoader, device: torch.device,
          autocast: Callable[[], object], on_images: Callable[[int], None] | None = None,
          ) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of every validation image, in order; `on_images` hears the images embedded so far."""
    network.eval()
    chunks, labels = [], []
    done = 0
    with torch.inference_mode(), autocast():
        for pixels, batch_labels in loader:
            chunks.append(network(pixels.to(device)).float().cpu())
            labels.append(batch_labels)
            done += len(batch_labels)
            if on_images is not None:
                on_images(done)
    return torch.cat(chunks).numpy(), torch.cat(labels).numpy()


def validation_scores(features: np.ndarray, labels: np.ndarray, predicted: np.ndarray | None) -> dict[str, float]:
    """mAP@5 (leave-one-out, as `embedkit bench` scores it), P@1 and the accuracy."""
    vectors = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    ranking = exact_ranking(vectors, labels, vectors, labels, query_positions=np.arange(len(labels)), k=10)
    counts = np.bincount(labels)
    scored = [(ranks, int(counts[label]) - 1) for ranks, label in zip(ranking.ranks, labels) if counts[label] > 1]
    map5 = float(np.mean([ap_at_k(ranks, 5) for ranks, _ in scored])) if scored else 0.0
    nearest = labels[ranking.top[:, 0]]
    accuracy = float(np.mean(predicted == labels)) if predicted is not None else float(np.mean(nearest == labels))
    return {"map@5": map5, "p@1": float(np.mean(nearest == labels)), "accuracy": accuracy}
