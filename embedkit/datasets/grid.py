"""A contact sheet of a dataset: one row per class, a few images each, the class name on the left."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont, ImageOps

from embedkit.datasets.base import DatasetView
from embedkit.datasets.decode import DecodeReport, Skipped
from embedkit.errors import ImageLoadError

UNLABELLED = "(unlabelled)"


@dataclass
class ContactSheet:
    image: Image.Image
    rows: list[str]
    report: DecodeReport = field(default_factory=DecodeReport)


def contact_sheet(view: DatasetView, per_class: int = 8, cell: int = 64, label_width: int = 160,
                  strict: bool = False) -> ContactSheet:
    """The first `per_class` readable images of each class of `view`, one row per class in class order
    (a class without images gets an empty row), then a row of unlabelled images if there are any.

    Unreadable images are skipped and reported (`strict`: ImageLoadError on the first).
    """
    by_label: dict[int | None, list[int]] = {}
    for index, label in enumerate(view.labels()):
        by_label.setdefault(label, []).append(index)
    labels: list[int | None] = list(range(len(view.classes))) + ([None] if None in by_label else [])
    names = [UNLABELLED if label is None else view.classes[label] for label in labels]
    sheet = Image.new("RGB", (label_width + per_class * cell, max(1, len(labels)) * cell), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    report = DecodeReport()
    for row, (label, name) in enumerate(zip(labels, names)):
        draw.text((4, row * cell + cell // 2 - 6), name[:24], fill="black", font=font)
        column = 0
        for index in by_label.get(label, []):
            if column == per_class:
                break
            sample = view[index]
            try:
                image = sample.image()
            except ImageLoadError as error:
                if strict:
                    raise
                report.skipped.append(Skipped(sample.id, sample.source, str(error)))
                continue
            report.read += 1
            image = ImageOps.contain(image, (cell - 2, cell - 2))
            x = label_width + column * cell + (cell - image.width) // 2
            sheet.paste(image, (x, row * cell + (cell - image.height) // 2))
            column += 1
    return ContactSheet(sheet, names, report)
