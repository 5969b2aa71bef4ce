"""What cosine does an edited copy of a photo get, next to two different photos? (docs/duplicates.md's threshold)

    .venv/bin/python benchmarks/duplicates_threshold.py                           # efficientnet-lite0
    .venv/bin/python benchmarks/duplicates_threshold.py -e mobilenet_v2.random

Embeds the colour photos that ship inside scikit-image and scikit-learn, and edited copies of each
(JPEG quality 30, half size, brighter, a centre crop, a small rotation, a mirror image, a caption
drawn on, grey), and prints, per edit, the lowest, median and highest cosine between a photo and its
copy; then the same for every pair of different photos.
"""

from __future__ import annotations

import argparse
import io
import itertools

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps


def photos() -> dict[str, Image.Image]:
    from skimage import data
    from sklearn.datasets import load_sample_images

    found = {}
    for name in ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "retina", "skin", "logo",
                 "lily", "eagle", "camera", "horse", "page", "moon", "brick", "grass", "gravel"):
        pixels = _pixels(data, name)
        if pixels is not None:
            found[name] = Image.fromarray(pixels).convert("RGB")
    for name, pixels in zip(("china", "flower"), load_sample_images().images):
        found[name] = Image.fromarray(pixels)
    return found


def _pixels(data, name: str) -> np.ndarray | None:
    try:
        pixels = getattr(data, name)()
    except Exception:  # a picture scikit-image would download: not here
        return None
    if not isinstance(pixels, np.ndarray) or pixels.ndim not in (2, 3) or pixels.dtype != np.uint8:
        return None
    return pixels if pixels.ndim == 2 or pixels.shape[2] in (3, 4) else None


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def captioned(image: Image.Image) -> Image.Image:
    copy = image.copy()
    ImageDraw.Draw(copy).text((copy.width // 20, copy.height - copy.height // 10), "(c) a watermark", fill="white")
    return copy


EDITS = {
    "JPEG quality 30": lambda image: jpeg(image, 30),
    "half size": lambda image: image.resize((image.width // 2, image.height // 2)),
    "20% brighter": lambda image: ImageEnhance.Brightness(image).enhance(1.2),
    "caption drawn on": captioned,
    "centre crop 90%": lambda image: ImageOps.crop(image, (image.width // 20, image.height // 20) * 2),
    "rotated 5 degrees": lambda image: image.rotate(5, resample=Image.Resampling.BILINEAR),
    "grey": lambda image: ImageOps.grayscale(image).convert("RGB"),
    "mirror image": ImageOps.mirror,
    "centre crop 60%": lambda image: ImageOps.crop(image, (image.width // 5, image.height // 5) * 2),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-e", "--encoder", default="efficientnet-lite0")
    args = parser.parse_args()
    from embedkit import get_encoder

    encoder = get_encoder(args.encoder, device="cpu")
    originals = photos()
    names = list(originals)
    base = encoder.encode_images([originals[name] for name in names])
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    print(f"{encoder.name}: {len(names)} photos")
    print(f"{'pair':<28}{'lowest':>8}{'median':>8}{'highest':>8}")
    for edit, change in EDITS.items():
        copies = encoder.encode_images([change(originals[name]) for name in names])
        copies /= np.linalg.norm(copies, axis=1, keepdims=True)
        cosines = (base * copies).sum(1)
        print(f"{edit:<28}{cosines.min():8.3f}{np.median(cosines):8.3f}{cosines.max():8.3f}")
    different = [float(base[a] @ base[b]) for a, b in itertools.combinations(range(len(names)), 2)]
    print(f"{'two different photos':<28}{min(different):8.3f}{np.median(different):8.3f}{max(different):8.3f}")


if __name__ == "__main__":
    main()
