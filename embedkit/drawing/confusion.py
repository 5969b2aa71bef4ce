"""A confusion matrix drawn as a picture: each cell coloured by its share of the true label's points."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def plot_confusion(matrix: np.ndarray, names: Sequence[str], path: str | Path, title: str) -> Path:
    """Save the confusion matrix (rows: true label, columns: predicted) as an image: cells coloured by the share of
    their row (on a square-root scale above 20 classes), with the counts written in them up to 20 classes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize, PowerNorm
    from matplotlib.figure import Figure

    count = len(names)
    cell = 0.6 if count <= 20 else 0.3 if count <= 50 else 0.17
    side = max(count * cell, 3.0)
    figure = Figure(figsize=(side + 1.5, side + 0.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=float), where=totals > 0)
    # with many classes the confusions are small shares: a square-root scale shows them
    norm = Normalize(0, 1) if count <= 20 else PowerNorm(0.5, 0, 1)
    image = axes.imshow(shares, cmap="Blues", norm=norm, interpolation="nearest")
    font = 9 if count <= 20 else 7 if count <= 50 else 6
    axes.set_xticks(range(count), labels=names, fontsize=font, rotation=45 if count <= 20 else 90,
                    ha="right" if count <= 20 else "center", rotation_mode="anchor" if count <= 20 else "default")
    axes.set_yticks(range(count), labels=names, fontsize=font)
    axes.set_xlabel("predicted label")
    axes.set_ylabel("true label")
    axes.set_title(title, fontsize=10 if count <= 50 else 14)
    if count <= 20:
        for row in range(count):
            for column in range(count):
                if matrix[row, column]:
                    axes.text(column, row, str(int(matrix[row, column])), ha="center", va="center", fontsize=8,
                              color="white" if shares[row, column] > 0.5 else "black")
    colour_bar = figure.colorbar(image, ax=axes, shrink=0.6 if count > 20 else 0.8)
    colour_bar.set_label("share of the true label's points")
    figure.savefig(path, dpi=110)
    return Path(path)
