"""An image file decoded once at a reduced size: a JPEG drafted at the 1/2, 1/4 or 1/8 scale that still covers
the size, any other format shrunk right after decoding and before its RGB conversion, so that what stays in
memory is at most `side` pixels on a side."""

from __future__ import annotations

import os
import warnings

from PIL import Image

from embedkit.images import (ImageInput, ReadOptions, check_size, load_image, open_within_limit, read_errors,
                             to_rgb)


def shrink(image: Image.Image, side: int) -> Image.Image:
    """`image` fitted into a side x side box (never enlarged): integer reduction first, then Lanczos."""
    if max(image.size) <= side:
        return image
    try:
        image.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    except (ValueError, OSError):  # a mode PIL cannot resample (16-bit greys): convert the one copy, then shrink
        image = to_rgb(image)
        image.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return image


def load_reduced(source: ImageInput, side: int, options: ReadOptions | None = None) -> Image.Image:
    """`source` as the RGB image `load_image` gives, fitted into a side x side box, decoded at the smallest size
    the format allows; the decompression-bomb limit and ImageLoadErrors are load_image's."""
    options = options or ReadOptions.from_environment()
    if isinstance(source, Image.Image):
        return load_image(shrink(source.copy(), side), options)
    path = os.fspath(source)
    with read_errors(path), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_within_limit(path, options.max_pixels) as image:
            check_size(path, image, options.max_pixels)
            if image.format in ("JPEG", "MPO"):
                image.draft(image.mode, (side, side))
            image.seek(0)
            image.load()
            return to_rgb(shrink(image, side), options.background)
