"""A confusion matrix as a picture: a cell per pair of labels, darker where more of a true label's points went."""

from __future__ import annotations

import numpy as np
from PIL import Image

from embedkit.drawing.confusion import plot_confusion


def test_the_picture_grows_with_the_classes_and_colours_the_diagonal_of_a_perfect_classifier(tmp_path):
    few = plot_confusion(np.diag([5, 3, 4]), ["cat", "dog", "fox"], tmp_path / "few.png", "three classes")
    many = plot_confusion(np.eye(30, dtype=np.int64) * 2, [f"c{i}" for i in range(30)], tmp_path / "many.png", "30")
    with Image.open(few) as small, Image.open(many) as large:
        assert small.format == large.format == "PNG"
        assert large.width > small.width and large.height > small.height
        pixels = np.asarray(small.convert("RGB"))
    dark_blue = (pixels[..., 2] > 80) & (pixels[..., 0] < 40)
    assert dark_blue.mean() > 0.02  # the full diagonal cells, not a blank canvas
