"""EfficientNet-Lite at another input size: a vector of its own, preprocessed at that size, the same weights."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from embedkit.encoders import get_encoder
from embedkit.errors import InvalidOptionError

pytest.importorskip("embedkit_efficientnet_lite")


def test_an_image_size_names_its_own_vector_and_preprocesses_at_that_size():
    small = get_encoder("efficientnet_lite0", image_size=112, device="cpu")
    assert small.vector_name == "efficientnet_lite0.imagenet1k-112px"
    assert (small.record.image_size, small.record.preprocessing.resize, small.record.preprocessing.crop) == (112, 112, 112)
    same = get_encoder("efficientnet_lite0.imagenet1k-112px", device="cpu")
    full = get_encoder("efficientnet_lite0", device="cpu")
    assert same.record == small.record and full.record.preprocessing.crop == 224
    assert small.record.weights_sha256 == full.record.weights_sha256
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (28, 28, 3), dtype=np.uint8))
    assert tuple(small.preprocess(image).shape) == (3, 112, 112)
    np.testing.assert_allclose(small.encode_images([image]), same.encode_images([image]), atol=1e-6)
    assert not np.allclose(small.encode_images([image]), full.encode_images([image]), atol=1e-3)


def test_an_image_size_out_of_range_is_refused_in_one_line():
    with pytest.raises(InvalidOptionError, match="^efficientnet_lite0 takes image sizes from 32 to 1024, got 8$"):
        get_encoder("efficientnet_lite0", image_size=8, device="cpu")
