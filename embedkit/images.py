"""Reading image files into RGB PIL images, with errors that name the file."""

from __future__ import annotations

import os
from typing import Union

from PIL import Image, UnidentifiedImageError

from embedkit.errors import ImageLoadError

ImageInput = Union[Image.Image, str, "os.PathLike[str]"]


def load_image(source: ImageInput) -> Image.Image:
    """Return `source` as an RGB image, reading it from disk when it is a path."""
    if isinstance(source, Image.Image):
        return source if source.mode == "RGB" else source.convert("RGB")
    path = os.fspath(source)
    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("RGB")
    except FileNotFoundError as error:
        raise ImageLoadError(f"image file {path!r} does not exist") from error
    except IsADirectoryError as error:
        raise ImageLoadError(f"{path!r} is a folder, not an image file") from error
    except UnidentifiedImageError as error:
        raise ImageLoadError(
            f"{path!r} is not an image file PIL can read; pass a JPEG, PNG, WebP, BMP or TIFF file"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(f"{path!r} is truncated or corrupt and cannot be read ({error})") from error
