"""A small labelled image folder made from real photos: two classes, and one corrupt file."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

PER_CLASS = 6


def make_photo_folder(root: Path, photos: dict[str, Image.Image], corrupt: bool = True) -> Path:
    for label, base in (("cat", photos["cat"]), ("coffee", photos["coffee"])):
        (root / label).mkdir(parents=True, exist_ok=True)
        for index in range(PER_CLASS):
            image = base.rotate(index * 7, expand=False)
            if index % 2:
                image = ImageOps.mirror(image)
            image.resize((image.width // 2, image.height // 2)).save(root / label / f"{index}.jpg", quality=90)
    if corrupt:
        (root / "cat" / "broken.jpg").write_bytes((root / "cat" / "0.jpg").read_bytes()[:400])
    return root
