"""Thumbnails: one decode per image, at a reduced size, shared by concurrent requests for any sizes, with at most
two decodes at once and caches bounded by bytes."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from embedkit.images import load_image
from embedkit.serve import images as served_images
from embedkit.serve.decoding import load_reduced
from embedkit.serve.images import THUMBNAIL_SIDE, BoundedCache, PointImages
from embedkit.store import open_store
from tests.serve.conftest import sample_id


@pytest.fixture(scope="module")
def opened(served):
    with open_store(served.store) as store:
        yield store


@pytest.fixture
def decodes(monkeypatch):
    """Every decode (its side), slowed down so that requests overlap; and the most running at once."""
    seen, running, most = [], [0], [0]
    lock = threading.Lock()

    def counted(source, side, options=None):
        with lock:
            seen.append(side)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.3)
        try:
            return load_reduced(source, side, options)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(served_images, "load_reduced", counted)
    return seen, most


def test_concurrent_thumbnails_at_eight_sizes_share_one_decode(opened, served, decodes):
    images = PointImages(opened)
    point = sample_id(served, "test-red-0.png")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda size: images.encoded(served.collection, point, size), range(500, 508)))
    seen, _ = decodes
    assert seen == [THUMBNAIL_SIDE]
    sizes = [Image.open(io.BytesIO(content)).size for content, _ in answers]
    assert sizes == [(size, size) for size in range(500, 508)]  # each size fitted from the one decode


def test_at_most_two_images_decode_at_once(opened, served, decodes):
    images = PointImages(opened)
    points = [sample_id(served, f"test-{colour}-{i}.png") for colour in ("red", "green", "blue") for i in range(2)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda point: images.encoded(served.collection, point, 64), points))
    seen, most = decodes
    assert len(seen) == 6 and most[0] == 2


def test_a_large_image_is_decoded_to_the_thumbnail_box_and_looks_the_same(tmp_path):
    rng = np.random.default_rng(1)
    pixels = np.kron(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), np.ones((50, 50, 1), np.uint8))  # 2000 x 1500
    for name in ("big.png", "big.jpg"):
        Image.fromarray(pixels).save(tmp_path / name)
        reduced = load_reduced(tmp_path / name, THUMBNAIL_SIDE)
        assert reduced.size == (1024, 768) and reduced.mode == "RGB"
        expected = np.asarray(load_image(tmp_path / name).resize((1024, 768), Image.Resampling.LANCZOS), np.float64)
        assert np.abs(np.asarray(reduced, np.float64) - expected).mean() < 4


def test_a_cache_bounded_by_bytes_lets_the_oldest_go():
    cache = BoundedCache(100, len)
    for key in "abcd":
        cache.put(key, b"x" * 40)
    assert cache.held == 80 and cache.get("a") is None and cache.get("b") is None and cache.get("d") == b"x" * 40
    cache.put("huge", b"x" * 101)
    assert cache.get("huge") is None and cache.held == 80
