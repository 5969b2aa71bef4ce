"""One picture per near-duplicate group: its members side by side, the kept one framed, each captioned.

It draws any groups shaped as `embedkit.analysis.duplicates` reports them (the protocols below say what it reads).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, ImageDraw

from embedkit.drawing.grid import CELL, fit, hit_images
from embedkit.store import Hit


class Member(Protocol):
    """A point of a group, as a grid shows it."""

    @property
    def sample_id(self) -> str: ...
    @property
    def split(self) -> str | None: ...
    @property
    def similarity(self) -> float: ...
    @property
    def label_text(self) -> str | None: ...
    def payload(self) -> dict[str, Any]: ...


class Group(Protocol):
    """A group of near-duplicates, its kept member first."""

    @property
    def number(self) -> int: ...
    @property
    def members(self) -> Sequence[Member]: ...
    @property
    def kept(self) -> Member: ...
    @property
    def min_similarity(self) -> float: ...
    @property
    def labels(self) -> list[str]: ...
    @property
    def label_conflict(self) -> bool: ...


COLUMNS = 6
MAX_MEMBERS = 24
"""Members drawn per group (4 rows); the header says how many more there are."""
HEADER = 24
CAPTION = 44
LEAK = (230, 120, 0)
KEPT = (210, 30, 30)


def write_group_grids(groups: Sequence[Group], folder: Path, limit: int = 50,
                      leaking: Collection[str] = ()) -> list[Path]:
    """A PNG per group, `group-0001.png` and on, for the first `limit` groups, the members in `leaking` (test images
    with a near-duplicate in train) framed orange; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    groups = groups[:limit]
    shown = [group.members[:MAX_MEMBERS] for group in groups]
    images = iter(hit_images([Hit(m.sample_id, m.similarity, m.payload()) for members in shown for m in members]))
    written = []
    for group, members in zip(groups, shown):
        sheet = group_grid(group, [next(images) for _ in members], leaking)
        path = folder / f"group-{group.number:04d}.png"
        sheet.save(path)
        written.append(path)
    return written


def group_grid(group: Group, images: list[Image.Image | None], leaking: Collection[str] = ()) -> Image.Image:
    """The first members of `group` (as many as `images`), `COLUMNS` a row, under a header line.

    The kept member is framed red, a member in `leaking` (a test image with a near-duplicate in train) orange."""
    columns = max(1, min(COLUMNS, len(images)))
    rows = -(-len(images) // columns)
    more = len(group.members) - len(images)
    header = (f"group {group.number}: {len(group.members)} images, cosine >= {group.min_similarity:.3f}"
              + (f", labels {' / '.join(group.labels)}" if group.label_conflict else "")
              + (f" ({more} more not shown)" if more > 0 else ""))
    width = max(CELL * columns, round(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(header)) + 12)
    sheet = Image.new("RGB", (width, HEADER + rows * (CELL + CAPTION)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), header, fill="black")
    for index, (member, image) in enumerate(zip(group.members, images)):
        left, top = (index % columns) * CELL, HEADER + (index // columns) * (CELL + CAPTION)
        if image is not None:
            thumb = fit(image, CELL - 12)
            sheet.paste(thumb, (left + (CELL - thumb.width) // 2, top + (CELL - thumb.height) // 2))
        else:
            draw.rectangle((left + 6, top + 6, left + CELL - 6, top + CELL - 6), outline="grey")
            draw.text((left + 14, top + CELL // 2), "no image", fill="grey")
        frame = KEPT if member is group.kept else LEAK if member.sample_id in leaking else None
        if frame is not None:
            draw.rectangle((left + 2, top + 2, left + CELL - 3, top + CELL - 3), outline=frame, width=3)
        for line, text in enumerate(_caption(member, member is group.kept, member.sample_id in leaking)):
            draw.text((left + 6, top + CELL + 2 + 13 * line), text, fill="black")
    return sheet


def _caption(member: Member, kept: bool, leak: bool) -> list[str]:
    """What the kept member is, or its cosine with it; the split and label; the file name, cut to fit."""
    first = ("kept" if kept else f"cosine {member.similarity:.3f}") + (", leak" if leak else "")
    where = ": ".join(str(part) for part in (member.split, member.label_text) if part is not None)
    name = member.sample_id.replace("\\", "/").rsplit("/", 1)[-1]
    return [first, where[:25], name if len(name) <= 25 else "..." + name[-22:]]
