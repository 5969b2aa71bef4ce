"""One picture of ranked points: a title, then rows of sections (the top of a ranking, its bottom; the most
suspect labels), each image captioned with what the ranking says of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from embedkit.drawing.grid import CELL, fit, hit_images
from embedkit.store import Hit

COLUMNS = 8
HEADER = 22
CAPTION = 44
LINE = 13
CHARACTERS = 25


@dataclass
class Cell:
    sample_id: str
    payload: dict[str, Any]
    """The stored payload (source, dataset, split): where the image is found again."""
    caption: list[str] = field(default_factory=list)
    """Up to three short lines under the image."""


def write_ranked_grid(title: str, sections: Sequence[tuple[str, Sequence[Cell]]], path: Path) -> Path:
    """Draw `sections` ((heading, cells) each, `COLUMNS` cells a row) under `title` into the PNG `path`."""
    cells = [cell for _, section in sections for cell in section]
    images = iter(hit_images([Hit(cell.sample_id, 0.0, cell.payload) for cell in cells]))
    rows = [(heading, section, -(-len(section) // COLUMNS)) for heading, section in sections]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = max(CELL * COLUMNS, round(measure.textlength(title)) + 12)
    height = HEADER + sum(HEADER + max(1, count) * (CELL + CAPTION) for _, _, count in rows)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 5), title, fill="black")
    top = HEADER
    for heading, section, count in rows:
        draw.line((0, top + 2, width, top + 2), fill=(200, 200, 200))
        draw.text((6, top + 6), heading, fill=(40, 40, 160))
        top += HEADER
        for index, cell in enumerate(section):
            left, row_top = (index % COLUMNS) * CELL, top + (index // COLUMNS) * (CELL + CAPTION)
            image = next(images)
            if image is not None:
                thumb = fit(image, CELL - 12)
                sheet.paste(thumb, (left + (CELL - thumb.width) // 2, row_top + (CELL - thumb.height) // 2))
            else:
                draw.rectangle((left + 6, row_top + 6, left + CELL - 6, row_top + CELL - 6), outline="grey")
                draw.text((left + 14, row_top + CELL // 2), "no image", fill="grey")
            for line, text in enumerate(cell.caption[:3]):
                shown = text if len(text) <= CHARACTERS else text[: CHARACTERS - 3] + "..."
                draw.text((left + 6, row_top + CELL + 2 + LINE * line), shown, fill="black")
        if not section:
            draw.text((12, top + CELL // 2), "(none)", fill="grey")
        top += max(1, count) * (CELL + CAPTION)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
