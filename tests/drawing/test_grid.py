"""Grids of stored points' images: each image scaled to fit its cell."""

from __future__ import annotations

from PIL import Image

from embedkit.drawing.grid import CELL, fit


def test_small_images_are_scaled_up_to_fill_their_grid_cell():
    assert fit(Image.new("L", (28, 28)), CELL - 8).size == (CELL - 8, CELL - 8)
    assert fit(Image.new("RGB", (600, 300)), CELL - 8).size == (CELL - 8, (CELL - 8) // 2)


def test_a_point_grid_draws_rows_and_names_each_file_under_its_label(tmp_path, monkeypatch):
    from embedkit.drawing import grid
    from embedkit.store import Hit

    drawn: list[str] = []
    real = grid.ImageDraw.ImageDraw.text
    monkeypatch.setattr(grid.ImageDraw.ImageDraw, "text",
                        lambda self, xy, text, *a, **k: (drawn.append(text), real(self, xy, text, *a, **k))[1])
    files = []
    for i in range(10):
        files.append(tmp_path / f"a_rather_long_photo_name_{i:02d}.jpg")
        Image.new("RGB", (30, 20), (i * 20, 0, 0)).save(files[-1])
    points = [Hit(f"s{i}", 0.0, {"label_name": "cat", "source": str(path)}) for i, path in enumerate(files)]
    sheet = grid.point_grid(points, columns=4)
    assert sheet.size == (4 * CELL, 3 * (CELL + grid.CAPTION))
    assert drawn.count("cat") == 10
    names = [text for text in drawn if text.endswith(".jpg")]
    assert len(names) == 10 and all(len(name) <= 24 for name in names)
    assert "a_rather_l...name_03.jpg" in names  # the start and the end, where the names differ


def test_the_query_of_a_result_grid_is_captioned_with_its_label(monkeypatch):
    from embedkit.drawing import grid
    from embedkit.store import Hit

    drawn: list[str] = []
    real = grid.ImageDraw.ImageDraw.text
    monkeypatch.setattr(grid.ImageDraw.ImageDraw, "text",
                        lambda self, xy, text, *a, **k: (drawn.append(text), real(self, xy, text, *a, **k))[1])
    monkeypatch.setattr(grid, "hit_images", lambda hits: [None] * len(hits))
    hits = [Hit("s1", 0.93, {"label_name": "dog", "source": "/data/dogs/rex.png"})]
    grid.result_grid(Image.new("RGB", (10, 10)), "q7", hits, {"label_name": "cat", "source": "/data/cats/tom.png"})
    assert drawn[:2] == ["q7 cat", "tom.png"]
    assert "1. 0.930 dog" in drawn and "rex.png" in drawn
