"""Real data: Fashion-MNIST as Debian's dataset-fashion-mnist package installs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedkit.datasets import get_dataset

DEBIAN = Path("/usr/share/datasets/fashion-mnist")

pytestmark = pytest.mark.skipif(
    not (DEBIAN / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian's dataset-fashion-mnist is not installed ({DEBIAN} is missing); "
           f"`apt-get install dataset-fashion-mnist` (./dev test does it when run as root)",
)


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    """Found in the system location, never downloaded; the decompressed cache goes to a fresh data folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("EMBEDKIT_SYSTEM_DATA", raising=False)
        patch.setenv("EMBEDKIT_DATASETS_MIRROR", "http://127.0.0.1:9/unreachable")
        return get_dataset("fashion-mnist", data_dir=tmp_path_factory.mktemp("data"), download=False)


def test_debian_fashion_mnist_has_60000_train_and_10000_test_images_in_10_balanced_classes(fashion):
    assert fashion.source_description() == f"fashion-mnist IDX files in {DEBIAN}"
    assert fashion.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    counts = fashion.counts()
    assert sum(counts["train"].values()) == 60_000 and sum(counts["test"].values()) == 10_000
    assert set(counts["train"].values()) == {6_000} and len(counts["train"]) == 10
    assert set(counts["test"].values()) == {1_000} and len(counts["test"]) == 10


def test_debian_fashion_mnist_images_are_real_pictures(fashion):
    first = fashion.view("test")[0]
    assert first.id == "fashion-mnist/test/00000" and first.label_name == "Ankle boot"
    assert first.source == f"{DEBIAN}/t10k-images-idx3-ubyte.gz::0"
    pixels = np.asarray(first.image())
    assert pixels.shape == (28, 28, 3)
    assert pixels[0, 0].tolist() == [0, 0, 0] and pixels.max() > 200  # a bright article on black
    last = np.asarray(fashion.view("train")[59_999].image())
    assert 10 < last.mean() < 200
