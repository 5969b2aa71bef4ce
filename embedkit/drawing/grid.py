"""Grids of stored points' images: each point's image found again and scaled to fit a cell, and one picture of a
query beside its top-k results, like the classic retrieval notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from embedkit.datasets import get_dataset
from embedkit.errors import EmbedkitError
from embedkit.images import load_image
from embedkit.store import Hit

CELL = 160
CAPTION = 30


def hit_images(hits: Sequence[Hit]) -> list[Image.Image | None]:
    """The image of each hit: its source file, or else the sample found again in its dataset."""
    images: dict[str, Image.Image | None] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for hit in hits:
        source = str(hit.payload.get("source", ""))
        if source and Path(source).is_file():
            try:
                images[hit.sample_id] = load_image(source)
                continue
            except EmbedkitError:
                pass
        wanted.setdefault((str(hit.payload.get("dataset")), str(hit.payload.get("split"))), set()).add(hit.sample_id)
    for (dataset, split), ids in wanted.items():
        try:
            view = get_dataset(dataset, download=False).view(split)
        except EmbedkitError:
            continue
        for index in range(len(view)):
            sample = view[index]
            if sample.id in ids:
                try:
                    images[sample.id] = sample.image()
                except EmbedkitError:
                    images[sample.id] = None
                if len(ids & images.keys()) == len(ids):
                    break
    return [images.get(hit.sample_id) for hit in hits]


def fit(image: Image.Image, side: int) -> Image.Image:
    """Scale to fit a side x side box, up as well as down (28 px Fashion-MNIST images become visible)."""
    scale = side / max(image.width, image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)


def result_grid(query: Image.Image | None, query_caption: str, hits: Sequence[Hit]) -> Image.Image:
    """The query (framed) then each hit with its rank, score and label."""
    cells = [(query, query_caption, True)]
    for rank, (hit, image) in enumerate(zip(hits, hit_images(hits)), start=1):
        label = hit.payload.get("label_name") or hit.payload.get("label") or ""
        cells.append((image, f"{rank}. {hit.score:.3f} {label}", False))
    sheet = Image.new("RGB", (CELL * len(cells), CELL + CAPTION), "white")
    draw = ImageDraw.Draw(sheet)
    for column, (image, caption, is_query) in enumerate(cells):
        left = column * CELL
        if image is not None:
            thumb = fit(image, CELL - 8)
            sheet.paste(thumb, (left + (CELL - thumb.width) // 2, (CELL - thumb.height) // 2))
        else:
            draw.rectangle((left + 4, 4, left + CELL - 4, CELL - 4), outline="grey")
            draw.text((left + 12, CELL // 2), "no image", fill="grey")
        if is_query:
            draw.rectangle((left + 1, 1, left + CELL - 2, CELL - 2), outline="red", width=3)
        draw.text((left + 4, CELL + 8), caption[:26], fill="black")
    return sheet
