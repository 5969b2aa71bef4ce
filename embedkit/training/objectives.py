"""What a run minimises: cross-entropy through a linear head, or a retrieval loss of pytorch-metric-learning
computed on the L2-normalised features themselves (what the store will search)."""

from __future__ import annotations

import torch
from torch import nn

from embedkit.errors import InvalidOptionError


class Objective(nn.Module):
    """features (n, dim), labels (n,) -> loss; `predict` gives class scores where the objective has a head."""

    def loss(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def predict(self, features: torch.Tensor) -> torch.Tensor | None:
        return None


class Classification(Objective):
    def __init__(self, dim: int, classes: int):
        super().__init__()
        self.head = nn.Linear(dim, classes)

    def loss(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(self.head(features), labels)

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)


class MetricLoss(Objective):
    """A pytorch-metric-learning loss (its own distance: cosine similarity), with a miner where it needs one."""

    def __init__(self, name: str, dim: int, classes: int):
        super().__init__()
        try:
            from pytorch_metric_learning import losses, miners
        except ImportError as error:
            raise InvalidOptionError('the retrieval losses come from pytorch-metric-learning: pip install '
                                     '"embedkit[train]"') from error
        self.miner = None
        if name == "multi-similarity":
            self.criterion = losses.MultiSimilarityLoss(alpha=2, beta=50, base=0.5)
            self.miner = miners.MultiSimilarityMiner(epsilon=0.1)
        elif name == "triplet":
            self.criterion = losses.TripletMarginLoss(margin=0.1)
            self.miner = miners.TripletMarginMiner(margin=0.1, type_of_triplets="semihard")
        elif name == "arcface":
            self.criterion = losses.ArcFaceLoss(num_classes=classes, embedding_size=dim, margin=28.6, scale=64)
        elif name == "proxy-anchor":
            self.criterion = losses.ProxyAnchorLoss(num_classes=classes, embedding_size=dim, margin=0.1, alpha=32)
        else:
            raise InvalidOptionError(f"unknown retrieval loss {name!r}")

    def loss(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        features = nn.functional.normalize(features.float(), dim=1)
        pairs = self.miner(features, labels) if self.miner is not None else None
        return self.criterion(features, labels, pairs) if pairs is not None else self.criterion(features, labels)


def make_objective(name: str, dim: int, classes: int) -> Objective:
    return Classification(dim, classes) if name == "classification" else MetricLoss(name, dim, classes)
