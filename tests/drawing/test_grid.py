"""Grids of stored points' images: each image scaled to fit its cell."""

from __future__ import annotations

from PIL import Image

from embedkit.drawing.grid import CELL, fit


def test_small_images_are_scaled_up_to_fill_their_grid_cell():
    assert fit(Image.new("L", (28, 28)), CELL - 8).size == (CELL - 8, CELL - 8)
    assert fit(Image.new("RGB", (600, 300)), CELL - 8).size == (CELL - 8, (CELL - 8) // 2)
