"""A near-duplicate group's picture: its members side by side under a header, the kept one framed red, a leak
orange."""

from __future__ import annotations

import numpy as np
from PIL import Image

from embedkit.analysis.duplicate_report import DuplicateGroup, Member
from embedkit.drawing.duplicate_grids import HEADER, KEPT, LEAK, group_grid, write_group_grids
from embedkit.drawing.grid import CELL


def group(number: int = 1) -> DuplicateGroup:
    members = [Member(f"img/{name}.png", split, 0, "cat", "", None, similarity)
               for name, split, similarity in (("a", "train", 1.0), ("a-copy", "test", 0.99), ("b", "train", 0.97))]
    return DuplicateGroup(number, members, 0.97)


def test_the_kept_member_is_framed_red_and_a_leaking_one_orange():
    found = group()
    sheet = np.asarray(group_grid(found, [Image.new("RGB", (8, 8), "white")] * 3, leaking={"img/a-copy.png"}))
    assert sheet.shape[:2] == (HEADER + CELL + 44, max(3 * CELL, sheet.shape[1]))
    frame_top = HEADER + 3
    assert tuple(sheet[frame_top, CELL // 2]) == KEPT
    assert tuple(sheet[frame_top, CELL + CELL // 2]) == LEAK
    assert tuple(sheet[frame_top, 2 * CELL + CELL // 2]) == (255, 255, 255)


def test_one_png_per_group_up_to_the_limit(tmp_path):
    written = write_group_grids([group(1), group(2), group(3)], tmp_path / "grids", limit=2)
    assert [path.name for path in written] == ["group-0001.png", "group-0002.png"]
    assert all(Image.open(path).format == "PNG" for path in written)
