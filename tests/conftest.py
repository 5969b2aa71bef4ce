"""Shared fixtures: real photos that ship inside scikit-image, as images and as files."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageOps


def _photo(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


@pytest.fixture(scope="session")
def photos() -> dict[str, Image.Image]:
    """Chelsea the cat, a cup of coffee, the astronaut, a rocket, and a cropped mirrored cat."""
    cat = _photo("chelsea")
    return {
        "cat": cat,
        "cat_crop_mirror": ImageOps.mirror(cat.crop((40, 20, 400, 280))),
        "coffee": _photo("coffee"),
        "astronaut": _photo("astronaut"),
        "rocket": _photo("rocket"),
    }


@pytest.fixture(scope="session")
def photo_files(photos, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    files = {}
    for name, image in photos.items():
        files[name] = folder / f"{name}.jpg"
        image.save(files[name], quality=95)
    return files
