"""The pixels encoder: an image's preprocessed pixels, flattened and L2-normalised, are its vector."""

from __future__ import annotations

import numpy as np
import pytest

from embedkit import get_encoder
from embedkit.errors import InvalidOptionError


def test_the_vector_is_the_preprocessed_image_flattened(photos):
    encoder = get_encoder("pixels", image_size=8, device="cpu")
    pixels = encoder.preprocess(photos["cat"]).numpy().reshape(-1)
    assert encoder.encode_images([photos["cat"]])[0] == pytest.approx(pixels / np.linalg.norm(pixels), abs=1e-6)
    assert (encoder.dim, encoder.vector_name, encoder.record.image_size) == (192, "pixels-8px", 8)


def test_the_default_is_32_pixels_under_its_plain_name():
    encoder = get_encoder("raw-pixels", device="cpu")
    assert (encoder.dim, encoder.vector_name, encoder.record.weights) == (3 * 32 * 32, "pixels", "none")


@pytest.mark.parametrize(("options", "message"), [
    ({"weights": "model.pt"}, "has no weights to load; leave out 'model.pt'"),
    ({"image_size": 3}, "takes image sizes from 4 to 128, got 3"),
    ({"image_size": 129}, "takes image sizes from 4 to 128, got 129"),
])
def test_options_it_cannot_take_are_refused(options, message):
    with pytest.raises(InvalidOptionError, match=message):
        get_encoder("pixels", device="cpu", **options)
