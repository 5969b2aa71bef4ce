"""The one way an image becomes the RGB pixels a person sees: files, datasets, queries and uploads alike.

EXIF orientation is applied; 16-bit and 32-bit greyscale is scaled, not clipped; transparency is
composited onto a background (white unless told otherwise); an animated image gives its first frame;
an image larger than the decompression-bomb limit is refused with the knob that allows it; HEIC
needs the `heif` extra (pillow-heif), AVIF a Pillow built with it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Union

import numpy as np
from PIL import Image, ImageColor, ImageOps, UnidentifiedImageError

from embedkit.errors import ImageLoadError, InvalidOptionError, first_line
from embedkit.records import Reading
from embedkit.special_files import special_kind



@dataclass(frozen=True)
class ImageBytes:
    """An image file's bytes held in memory (a member of a tar shard, a cell of a Parquet column), named for
    messages (`shard.tar::key`)."""

    data: bytes
    name: str


ImageInput = Union[Image.Image, ImageBytes, str, "os.PathLike[str]"]

MAX_PIXELS_ENV = "EMBEDKIT_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 89_478_485
"""Pillow's own limit (about 89 megapixels): beyond it a file may be a decompression bomb."""
WHITE = (255, 255, 255)
SAMPLE_BITS = (8, 10, 12, 14, 16)
"""The bit depths integer images are stored at; values are scaled by the smallest that holds them."""
_PIL_LIMIT = threading.Lock()
ORIENTATION = 0x0112
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


@dataclass(frozen=True)
class ReadOptions:
    """How files become pixels: the colour under transparent pixels, the pixel limit (None: none), and the
    side a JPEG may be decoded down to (`draft_size`: the 1/2, 1/4 or 1/8 scale that still covers it)."""

    background: tuple[int, int, int] = WHITE
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    draft_size: int | None = None

    @classmethod
    def from_environment(cls, background: str | tuple[int, int, int] | None = None,
                         draft_size: int | None = None) -> ReadOptions:
        """The options with $EMBEDKIT_MAX_IMAGE_PIXELS ("none" lifts the limit) and a background colour
        given as a name or #RRGGBB."""
        return cls(WHITE if background is None else parse_colour(background), max_pixels_from_environment(),
                   draft_size)

    @classmethod
    def for_reading(cls, reading: Reading | None, input_size: int | None) -> ReadOptions:
        """Read a file the way the files behind a stored vector were read (`reading` None: the defaults)."""
        reading = reading or Reading()
        return cls.from_environment(reading.background, input_size if reading.reduced_decoding else None)

    def reading(self) -> Reading:
        """What of these options decides the vectors, for their record."""
        return Reading("#{:02x}{:02x}{:02x}".format(*self.background), self.draft_size is not None)


def parse_colour(colour: str | tuple[int, int, int]) -> tuple[int, int, int]:
    if isinstance(colour, tuple):
        return colour
    try:
        return ImageColor.getrgb(colour)[:3]
    except ValueError as error:
        raise InvalidOptionError(f"unknown colour {colour!r}; use a name such as white or black, or #RRGGBB") \
            from error


def max_pixels_from_environment() -> int | None:
    value = os.environ.get(MAX_PIXELS_ENV, "").strip().lower()
    if not value:
        return DEFAULT_MAX_PIXELS
    if value == "none":
        return None
    try:
        pixels = int(value)
    except ValueError as error:
        raise InvalidOptionError(f"${MAX_PIXELS_ENV}={value!r} is not a number of pixels; e.g. 200000000, "
                                 f"or none to lift the limit") from error
    if pixels < 1:
        raise InvalidOptionError(f"${MAX_PIXELS_ENV}={value!r} would refuse every image; give a positive number "
                                 f"of pixels, or none to lift the limit")
    return pixels


def load_image(source: ImageInput, options: ReadOptions | None = None) -> Image.Image:
    """`source` (a path or a PIL image) as the RGB image a viewer shows; ImageLoadError names what is wrong."""
    options = options or ReadOptions.from_environment()
    if isinstance(source, Image.Image):
        try:
            return to_rgb(source, options.background)
        except (ValueError, OSError) as error:
            raise ImageLoadError(f"an image in mode {source.mode} cannot be shown as RGB ({first_line(error)})") \
                from error
    path = source.name if isinstance(source, ImageBytes) else os.fspath(source)
    opened: str | io.BytesIO = io.BytesIO(source.data) if isinstance(source, ImageBytes) else path
    with read_errors(path, source.data[:32] if isinstance(source, ImageBytes) else None), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PIL's bomb, EXIF and TIFF warnings: what matters is raised
        with open_within_limit(opened, options.max_pixels) as image:
            check_size(path, image, options.max_pixels)
            if options.draft_size and image.format in ("JPEG", "MPO"):  # a fraction of the size: far less work
                image.draft(image.mode, (options.draft_size, options.draft_size))
            image.seek(0)  # an animated image: its first frame
            image.load()
            return to_rgb(image, options.background)


def check_image(source: ImageInput, options: ReadOptions | None = None) -> None:
    """Raise the ImageLoadError `load_image` would for a missing, empty, unknown or too large file, reading
    only its header: a cheap check of many files before a model loads."""
    if isinstance(source, Image.Image):
        return
    options = options or ReadOptions.from_environment()
    path = os.fspath(source)
    with read_errors(path), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_within_limit(path, options.max_pixels) as image:
            check_size(path, image, options.max_pixels)


@contextlib.contextmanager
def read_errors(path: str, head: bytes | None = None) -> Iterator[None]:
    """PIL's and the OS's errors while reading `path` (or an image in memory, named `path`, starting with
    `head`) as one-line ImageLoadErrors."""
    register_optional_formats()
    try:
        yield
    except FileNotFoundError as error:
        raise ImageLoadError(f"image file {path!r} does not exist") from error
    except IsADirectoryError as error:
        raise ImageLoadError(f"{path!r} is a folder, not an image file") from error
    except UnidentifiedImageError as error:
        raise ImageLoadError(unreadable(path, head)) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(f"{path!r} is truncated or corrupt and cannot be read ({error})") from error


def open_within_limit(path: str | io.BytesIO, max_pixels: int | None) -> Image.Image:
    """`Image.open`, with PIL's own bomb limit raised (under a lock, and put back at once) only when ours
    allows more than it does; PIL's refusal becomes ours, with the knob."""
    kind = None if isinstance(path, io.IOBase) else special_kind(path)
    if kind is not None:  # PIL would wait for ever on a FIFO's open, or read a device without end
        raise ImageLoadError(f"{path!r} is {kind}, not an image file")
    pil_limit = Image.MAX_IMAGE_PIXELS
    if pil_limit is None or (max_pixels is not None and max_pixels <= 2 * pil_limit):
        try:
            return Image.open(path)
        except Image.DecompressionBombError as error:
            name = repr(path) if isinstance(path, str) else "the image"
            raise ImageLoadError(f"{name} has more pixels than the {max_pixels:,} allowed as a guard against "
                                 f"decompression bombs; if you trust it, set {MAX_PIXELS_ENV}=none") from error
    with _PIL_LIMIT:
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path)  # reads the header only: the window is short
        finally:
            Image.MAX_IMAGE_PIXELS = pil_limit


def check_size(path: str, image: Image.Image, max_pixels: int | None) -> None:
    pixels = image.width * image.height
    if max_pixels is not None and pixels > max_pixels:
        raise ImageLoadError(
            f"{path!r} is {image.width} x {image.height} = {pixels:,} pixels, more than the {max_pixels:,} "
            f"allowed as a guard against decompression bombs; if you trust it, set "
            f"{MAX_PIXELS_ENV}={pixels} (or none)"
        )


def unreadable(path: str, head: bytes | None = None) -> str:
    """Why PIL could not identify a file (whose first bytes are `head`, read when not given), in words a user
    can act on."""
    if head is None:
        with open(path, "rb") as handle:
            head = handle.read(32)
    if not head:
        return f"{path!r} is empty (0 bytes); it holds no image"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return f"{path!r} is a HEIC/HEIF image; install the extra that reads it: pip install 'embedkit[heif]'"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return f"{path!r} is an AVIF image, which this Pillow cannot read; upgrade Pillow (11.3 or newer reads it)"
    return f"{path!r} is not an image file PIL can read; pass a JPEG, PNG, WebP, AVIF, HEIC, BMP or TIFF file"


@functools.cache
def register_optional_formats() -> bool:
    """Let PIL open HEIC/HEIF files when pillow-heif is installed; False when it is not."""
    try:
        importlib.import_module("pillow_heif").register_heif_opener()
    except ImportError:
        return False
    return True


def to_rgb(image: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Orientation applied, high bit depths scaled to 8 bits, transparency composited onto `background`."""
    if image.getexif().get(ORIENTATION, 1) != 1:  # exif_transpose copies even an upright image
        image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        pixels = np.asarray(image)
        grey = Image.fromarray(_to_8_bits(pixels, image.mode), "L")
        transparent = image.info.get("transparency")
        if isinstance(transparent, int):  # one grey value marks the transparent pixels (PNG tRNS)
            grey = Image.merge("LA", (grey, Image.fromarray(np.where(pixels == transparent, 0, 255).astype(np.uint8))))
        image = grey
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def _to_8_bits(pixels: np.ndarray, mode: str) -> np.ndarray:
    """Integer values are scaled by the bit depth they fit in (8, 10, 12, 14 or 16 bits: 12-bit camera and
    scanner data is usually stored in 16-bit files); 32-bit values beyond 16 bits and floats by their range."""
    values = pixels.astype(np.float64)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if (mode.startswith("I;16") or mode == "I") and low >= 0 and high <= 65535:
        bits = next(bits for bits in SAMPLE_BITS if high < 2**bits)
        scaled = values if bits == 8 else values * (255 / (2**bits - 1))
    elif mode == "F" and values.size and values.min() >= 0 and values.max() <= 1:
        scaled = values * 255
    else:
        scaled = (values - low) * (255 / (high - low)) if high > low else np.zeros_like(values)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
