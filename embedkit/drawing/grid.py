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


def result_grid(query: Image.Image | None, query_caption: str, hits: Sequence[Hit],
                query_payload: dict | None = None) -> Image.Image:
    """The query (framed, with its label when `query_payload` has one) then each hit with its rank, score and label,
    and under each its file's name."""
    cells = [(query, _with_label(query_caption, query_payload or {}), file_name(query_payload or {}), True)]
    for rank, (hit, image) in enumerate(zip(hits, hit_images(hits)), start=1):
        cells.append((image, _with_label(f"{rank}. {hit.score:.3f}", hit.payload), file_name(hit.payload), False))
    return _sheet(cells, len(cells))


def point_grid(points: Sequence[Hit], columns: int = 8) -> Image.Image:
    """Stored points (no query) in rows of `columns`: each image with its label and its file's name."""
    cells = [(image, _with_label("", point.payload) or point.sample_id, file_name(point.payload), False)
             for point, image in zip(points, hit_images(points))]
    return _sheet(cells, max(1, min(columns, len(cells))))


def _with_label(caption: str, payload: dict) -> str:
    label = payload.get("label_name")
    label = payload.get("label") if label is None else label
    return caption if label is None or str(label) in caption.split() else f"{caption} {label}".strip()


def file_name(payload: dict) -> str:
    """The name of a point's source file (a path's last part), or its sample id's, to write under its image."""
    source = str(payload.get("source") or payload.get("sample_id") or "")
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def _shortened(text: str, width: int = 24) -> str:
    """At most `width` characters, its middle left out: a file's name keeps its start and its extension."""
    return text if len(text) <= width else text[: width // 2 - 2] + "..." + text[-(width - width // 2 - 1):]


def _sheet(cells: Sequence[tuple[Image.Image | None, str, str, bool]], columns: int) -> Image.Image:
    rows = max(1, -(-len(cells) // columns))
    height = CELL + CAPTION
    sheet = Image.new("RGB", (CELL * columns, height * rows), "white")
    draw = ImageDraw.Draw(sheet)
    for number, (image, caption, name, is_query) in enumerate(cells):
        left, top = (number % columns) * CELL, (number // columns) * height
        if image is not None:
            thumb = fit(image, CELL - 8)
            sheet.paste(thumb, (left + (CELL - thumb.width) // 2, top + (CELL - thumb.height) // 2))
        else:
            draw.rectangle((left + 4, top + 4, left + CELL - 4, top + CELL - 4), outline="grey")
            draw.text((left + 12, top + CELL // 2), "no image", fill="grey")
        if is_query:
            draw.rectangle((left + 1, top + 1, left + CELL - 2, top + CELL - 2), outline="red", width=3)
        draw.text((left + 4, top + CELL + 2), _shortened(caption, 26), fill="black")
        if name and name != caption:
            draw.text((left + 4, top + CELL + 15), _shortened(name), fill="dimgrey")
    return sheet
